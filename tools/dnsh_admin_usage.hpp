#pragma once
// What each dnsh-admin command takes, checked before anything runs, and the commands' --help text.
#include <Poco/Util/AbstractConfiguration.h>

#include <string>
#include <vector>

namespace dnsh_admin {

// The command is known, and takes the words and options given, each option that takes a value
// with one that is not empty; else says what is wrong and the command's usage on stderr.
// `options`: the options given, as the properties their bindings set.
bool usageFits(const std::vector<std::string>& arguments,
               const Poco::Util::AbstractConfiguration& options);

// The commands, as --help lists them under the usage line.
const char* commandsHelp();

}  // namespace dnsh_admin
