#pragma once
// Reading the CA's JSON answers, shared by the parts of Client (client.cpp: the directory and the
// account; client_orders.cpp: orders, authorizations, challenges, the certificate;
// certificate_chain.cpp: the certificate download checked). Not for use outside them.
#include <Poco/JSON/Object.h>

#include <string>

#include "acme/problem.hpp"

namespace dnsh::acme::client_answers {

// The string member `name` of `object`, "" when absent.
std::string text(const Poco::JSON::Object::Ptr& object, const std::string& name);

// The CA answered what RFC 8555 does not allow: its error (502), naming `value` cut.
AcmeError protocolError(const std::string& what, const std::string& value = "");

// Refuses a URL of the CA's that is no https URL within kMaxCaUrlBytes (RFC 8555 §6.1).
void requireCaUrl(const std::string& url, const std::string& what);

// The URL member `name` of `object`, "" when absent; refused as requireCaUrl says.
std::string caUrl(const Poco::JSON::Object::Ptr& object, const std::string& name);

std::string stringify(const Poco::JSON::Object& object);

}  // namespace dnsh::acme::client_answers
