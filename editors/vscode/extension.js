// Starts `redline lsp` (stdio) for .redline files; everything else is the server's.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("redline").get("server.command", ["redline", "lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient("redline", "redline", server, {
    documentSelector: [{ scheme: "file", language: "redline" }],
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
