package main

import (
	"context"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
)

// How commands reach the running node: each opens a client for the data
// dir's node (withClient) and bounds its requests in time.

// requestTimeout bounds one API call, so a hung node cannot hang the CLI.
const requestTimeout = 30 * time.Second

// call opens a client for the data dir's node and runs f with a bounded
// context.
func (g *globals) call(cmd *cobra.Command, f func(context.Context, *client.Client) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), requestTimeout)
	defer cancel()
	return g.withClient(ctx, f)
}

// withClient opens a client for the data dir's node and runs f.
func (g *globals) withClient(ctx context.Context, f func(context.Context, *client.Client) error) error {
	dir, err := g.dir()
	if err != nil {
		return err
	}
	c, err := client.Open(dir)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

// follow is call for commands that may wait on a transfer for as long as
// it takes: no overall deadline (each request has its own), and Ctrl-C
// stops the waiting, not the transfer.
func (g *globals) follow(cmd *cobra.Command, f func(context.Context, *client.Client) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	return g.withClient(ctx, f)
}

// call runs one API request under requestTimeout.
func call[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return f(ctx)
}
