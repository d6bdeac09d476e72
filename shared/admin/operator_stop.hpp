#pragma once
// An operator's stop (Ctrl-C, SIGTERM from systemd or `timeout`, SIGHUP of a closed terminal)
// for a command that works through many items (dnsh-admin ari-refresh --all): the item in hand
// is finished and reported, then the command ends with its output whole up to there (a --json
// array closed), instead of dying with the record of what it did still in its buffers. A second
// signal ends the process at once, as without this.
namespace dnsh {

// Catches SIGINT, SIGTERM and SIGHUP from now on, each once (the next one is the default's).
void catchOperatorStop();

// The signal that asked to stop; 0 while none came.
int operatorStopSignal();

}  // namespace dnsh
