// A script that does nothing on every message: what a message hook costs (scripts/bench-compare.sh).
function onMessage(message, session) { }
