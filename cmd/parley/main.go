// Command parley runs a Parley node and talks to it.
//
// With no subcommand (or with "run") it starts the node and serves the web
// GUI and the local API on 127.0.0.1. The other subcommands are clients of
// that API: they find it through the data dir's api.json.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
