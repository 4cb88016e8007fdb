package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
)

// newMailboxCmd manages the nodes that hold the user's mail while the user
// is offline.
func newMailboxCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mailbox",
		Short: "Add, list and remove the nodes that hold your mail while you are offline",
		Long: `A mailbox is a node that holds your mail while you are offline: your own
always-on node, a contact's, or a community's (parley run --mailbox-service).
It sees only ciphertext. Your node fetches your mail from each of your
mailboxes when it starts, when it connects to one, and every minute.

Contacts do not deposit there by themselves yet: see the README.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("mailbox needs a subcommand: add, list, remove, offer, accept, revoke or reset")}
		},
	}
	add := &cobra.Command{
		Use:   "add ADDR|INVITE",
		Short: "Register with a mailbox and fetch your mail from it from now on",
		Long: `Register with a mailbox and fetch your mail from it from now on. ADDR is
the mailbox node's address ending in /p2p/ID (parley id on that node shows
its addresses), or its invite code. The mailbox must serve mailboxes and
agree to hold your mail.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				m, err := c.AddMailbox(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Added mailbox %s\n", m.PeerID)
				return err
			})
		},
	}
	list := viewCmd(g, &cobra.Command{
		Use:   "list",
		Short: "List your mailboxes",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.MailboxView, error) {
		return c.Mailboxes(ctx)
	}, printMailboxes)
	remove := &cobra.Command{
		Use:   "remove PEER",
		Short: "Stop fetching from a mailbox (mail it still holds expires there)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				if err := c.RemoveMailbox(ctx, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "Removed mailbox %s\n", args[0])
				return err
			})
		},
	}
	offer := &cobra.Command{
		Use:   "offer CONTACT",
		Short: "Offer to hold a contact's mail on this node (its mailbox service on)",
		Long: `Offer to hold a contact's mail while they are offline, on this node: for a
node that is always on, with its mailbox service on (parley settings
--mailbox-service on, or parley run --mailbox-service). The contact sees the
offer in your conversation and accepts it or not.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				m, err := c.OfferMailbox(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Offered to hold %s's mail: message %s\n", nameOr(m.ToName, m.To), m.ID)
				return err
			})
		},
	}
	accept := &cobra.Command{
		Use:   "accept OFFER",
		Short: "Accept a contact's offer to hold your mail (OFFER: the offer's message ID)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				m, err := c.AcceptMailboxOffer(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Added mailbox %s\n", m.PeerID)
				return err
			})
		},
	}
	var undo bool
	revoke := &cobra.Command{
		Use:   "revoke CONTACT",
		Short: "Stop a contact depositing at your mailboxes (--undo: let them again)",
		Long: `Stop a contact depositing mail for you at your mailboxes, say one who fills
them: every mailbox refuses the contact's deposits from then on, and the
contact is told you have no mailboxes for them, so it keeps its messages
queued until it reaches you directly. Nothing is lost. --undo lets the
contact deposit again. CONTACT is a name or a peer ID.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cv, err := c.RevokeMailbox(ctx, args[0], !undo)
				if err != nil {
					return err
				}
				what := "may no longer deposit at your mailboxes; their messages wait to reach you directly"
				if undo {
					what = "may deposit at your mailboxes again"
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", nameOr(cv.Name, cv.PeerID), what)
				return err
			})
		},
	}
	revoke.Flags().BoolVar(&undo, "undo", false, "let the contact deposit again")
	reset := &cobra.Command{
		Use:   "reset [PEER]",
		Short: "Give a mailbox (or all) a new deposit key, revoking every capability issued there",
		Long: `Give a mailbox (PEER, or all of yours) a new deposit key: every capability
your contacts held there stops working, and each contact you have not
revoked is sent a new one. Use it when mail you do not want keeps coming
and you cannot tell from whom. A mailbox unreachable now takes the new key
when your node next reaches it.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				peerID := ""
				if len(args) == 1 {
					peerID = args[0]
				}
				ms, err := c.ResetMailbox(ctx, peerID)
				for _, m := range ms {
					fmt.Fprintf(cmd.OutOrStdout(), "Mailbox %s: new deposit key (generation %d)\n", m.PeerID, m.Generation)
				}
				if err == nil && len(ms) == 0 {
					_, err = fmt.Fprintln(cmd.OutOrStdout(), "No mailboxes to reset.")
				}
				return err
			})
		},
	}
	cmd.AddCommand(add, list, remove, offer, accept, revoke, reset)
	return cmd
}

func printMailboxes(w io.Writer, ms []client.MailboxView) error {
	if len(ms) == 0 {
		_, err := fmt.Fprintln(w, "No mailboxes yet. Add one with: parley mailbox add ADDR")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER ID\tKEY\tADDRESSES")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", m.PeerID, m.Generation, strings.Join(m.Addrs, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Revocations hold at every mailbox: one line for them all.
	if len(ms[0].Revoked) > 0 {
		_, err := fmt.Fprintf(w, "Revoked (may not deposit): %s\n", strings.Join(ms[0].Revoked, ", "))
		return err
	}
	return nil
}
