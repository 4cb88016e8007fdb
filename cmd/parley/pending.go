package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// Pending contacts: short codes added while their owner was not
// reachable, which the node adds once they are. `contact list` shows them
// after the contacts, `contact remove-pending` cancels one.

// contactList is what `contact list` shows: contacts, then pending ones.
// Its JSON is one array, the pending entries told apart by their state
// ("pending" or "refused").
type contactList struct {
	contacts []client.ContactView
	pending  []client.PendingContactView
}

func (l contactList) MarshalJSON() ([]byte, error) {
	all := make([]any, 0, len(l.contacts)+len(l.pending))
	for _, c := range l.contacts {
		all = append(all, c)
	}
	for _, p := range l.pending {
		all = append(all, p)
	}
	return json.Marshal(all)
}

func fetchContactList(ctx context.Context, c *client.Client) (contactList, error) {
	cs, err := c.Contacts(ctx)
	if err != nil {
		return contactList{}, err
	}
	ps, err := c.PendingContacts(ctx)
	if err != nil {
		return contactList{}, err
	}
	return contactList{contacts: cs, pending: ps}, nil
}

func printContactList(w io.Writer, l contactList) error {
	if len(l.contacts) > 0 || len(l.pending) == 0 {
		if err := printContacts(w, l.contacts, "No contacts yet. Add one with: parley contact add INVITE"); err != nil {
			return err
		}
	}
	if len(l.pending) == 0 {
		return nil
	}
	if len(l.contacts) > 0 {
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PENDING\tPEER ID\tSTATE")
	for _, p := range l.pending {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", orDash(p.Name), p.PeerID, p.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "(parley contact remove-pending NAME|PEER cancels one)")
	return err
}

// printPending answers adding a short code whose owner is not reachable.
func printPending(w io.Writer, c client.ContactView) error {
	_, err := fmt.Fprintf(w, "%s (%s) is %s\n", orDash(c.Name), c.PeerID,
		parley.PendingContact{State: parley.ContactPending}.Note())
	return err
}

func newContactRemovePendingCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-pending NAME|PEER",
		Short: "Cancel a pending contact: a short code added while its owner was offline",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				if err := c.CancelPending(ctx, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "Cancelled the pending contact %s\n", args[0])
				return err
			})
		},
	}
}
