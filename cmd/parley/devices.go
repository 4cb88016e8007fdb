package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
)

// The devices of the user's person (linked devices; revoking comes later):
// each subcommand calls the API (gui/localapi/devices.go); linking is in
// link.go.

func newDevicesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "The devices of your person: the nodes that share your identity",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("devices needs a subcommand: list, accept")}
		},
	}
	list := viewCmd(g, &cobra.Command{
		Use:   "list",
		Short: "List your devices, one a line: name, peer ID, and which one is this",
		Long: `List the devices of your person, one a line: its name, its peer ID, and
"(this device)" beside the node you are talking to. A node that has linked
no other device is a person of one device, itself, named after its machine.`,
		Args: usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.DeviceView, error) {
		return c.Devices(ctx)
	}, printDevices)
	cmd.AddCommand(list, newDevicesAcceptCmd(g))
	return cmd
}

func printDevices(w io.Writer, ds []client.DeviceView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range ds {
		line := nameOr(d.Name, "-") + "\t" + d.PeerID
		switch {
		case d.This:
			line += "\t(this device)"
		case d.Revoked:
			line += "\t(revoked)"
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
