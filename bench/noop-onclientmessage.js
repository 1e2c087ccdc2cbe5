// A script that does nothing on what the client sends: the server's direction stays ungated.
function onClientMessage(message, session) { }
