package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
)

// Block, unblock and the blocked list; mute, archive and pin: each one
// call of the API (gui/localapi/block.go).

func newBlockCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{
		newBlockCmd(g), newUnblockCmd(g), newBlockedCmd(g),
		newMuteCmd(g), newArchiveCmd(g), newPinCmd(g),
	}
}

func newBlockCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "block CONTACT",
		Short: "Block a contact, a request or any peer",
		Long: `Block a contact or a request (by name or peer ID), or any peer by peer ID.
What they send you is dropped unread and never stored; they see their
messages delivered, never read, and learn nothing of the block. You send
them nothing (no receipts, no card updates, no mailbox grant, no presence),
and their group messages are hidden from you. 'parley unblock' undoes it
for new messages; what came in between stays dropped.`,
		Args: usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.BlockedView, error) {
		return c.Block(ctx, args[0])
	}, printBlock("blocked"))
}

func newUnblockCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "unblock CONTACT",
		Short: "Unblock a peer: their new messages reach you again",
		Args:  usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.BlockedView, error) {
		return c.Unblock(ctx, args[0])
	}, printBlock("unblocked"))
}

func newBlockedCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "blocked",
		Short: "List the peers you blocked",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.BlockedView, error) {
		return c.Blocked(ctx)
	}, printBlocked)
}

const convArgHelp = "CONV is a contact or request (name or peer ID) or a group (name or ID)."

func newMuteCmd(g *globals) *cobra.Command {
	var off bool
	var dur time.Duration
	cmd := viewCmd(g, &cobra.Command{
		Use:   "mute CONV",
		Short: "Mute a conversation's notifications (--off to unmute)",
		Long: `Mute a conversation: no notifications for it, its unread count still shown;
--for mutes it for a while (e.g. 8h), --off unmutes it.

` + convArgHelp,
		Args: usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.ConversationView, error) {
		if off && dur != 0 {
			return client.ConversationView{}, usageError{fmt.Errorf("--for and --off do not go together")}
		}
		if dur < 0 {
			return client.ConversationView{}, usageError{fmt.Errorf("--for must be positive")}
		}
		on := !off
		req := apitype.ConversationStateRequest{Conversation: args[0], Muted: &on}
		if dur > 0 {
			req.MuteFor = dur.String()
		}
		return c.SetConversationState(ctx, req)
	}, printConvState)
	cmd.Flags().BoolVar(&off, "off", false, "unmute")
	cmd.Flags().DurationVar(&dur, "for", 0, "mute for this long (e.g. 1h, 8h, 168h); default: until unmuted")
	return cmd
}

func newArchiveCmd(g *globals) *cobra.Command {
	var off bool
	cmd := viewCmd(g, &cobra.Command{
		Use:   "archive CONV",
		Short: "Archive a conversation (--off to bring it back)",
		Long: `Archive a conversation: it is listed apart. A new message brings it back
unless it is muted.

` + convArgHelp,
		Args: usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.ConversationView, error) {
		on := !off
		return c.SetConversationState(ctx, apitype.ConversationStateRequest{Conversation: args[0], Archived: &on})
	}, printConvState)
	cmd.Flags().BoolVar(&off, "off", false, "un-archive")
	return cmd
}

func newPinCmd(g *globals) *cobra.Command {
	var off bool
	cmd := viewCmd(g, &cobra.Command{
		Use:   "pin CONV",
		Short: "Pin a conversation on top of the list (--off to unpin)",
		Long:  "Pin a conversation: it is listed first, the latest pinned on top; at most 5.\n\n" + convArgHelp,
		Args:  usageArgs(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.ConversationView, error) {
		on := !off
		return c.SetConversationState(ctx, apitype.ConversationStateRequest{Conversation: args[0], Pinned: &on})
	}, printConvState)
	cmd.Flags().BoolVar(&off, "off", false, "unpin")
	return cmd
}

func printBlock(what string) func(w io.Writer, b client.BlockedView) error {
	return func(w io.Writer, b client.BlockedView) error {
		_, err := fmt.Fprintf(w, "%s %s\n", what, nameOr(b.Name, b.PeerID))
		return err
	}
}

func printBlocked(w io.Writer, bs []client.BlockedView) error {
	if len(bs) == 0 {
		_, err := fmt.Fprintln(w, "Nobody is blocked.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPEER ID\tSINCE\tWAS")
	for _, b := range bs {
		was := "contact"
		if b.Request {
			was = "stranger"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", nameOr(b.Name, "-"), b.PeerID, b.At.Local().Format(timeLayout), was)
	}
	return tw.Flush()
}

func printConvState(w io.Writer, c client.ConversationView) error {
	state := convStateWords(c)
	if state == "" {
		state = "not muted, archived or pinned"
	}
	_, err := fmt.Fprintf(w, "%s: %s\n", nameOr(c.Name, c.Peer), state)
	return err
}

// convStateWords says what the user chose for a conversation, e.g.
// "pinned, muted until 2026-12-08 18:00:00"; empty when nothing.
func convStateWords(c client.ConversationView) string {
	var words []string
	if c.Blocked {
		words = append(words, "blocked")
	}
	if !c.PinnedAt.IsZero() {
		words = append(words, "pinned")
	}
	switch {
	case c.Muted && !c.MutedUntil.IsZero():
		words = append(words, "muted until "+c.MutedUntil.Local().Format(timeLayout))
	case c.Muted:
		words = append(words, "muted")
	}
	if c.Archived {
		words = append(words, "archived")
	}
	return strings.Join(words, ", ")
}
