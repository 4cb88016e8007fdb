package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
	"github.com/parley-im/parley/gui/client"
)

// Replies, edits, deletes and reactions: each is one POST /api/v1/actions.

const convoArgHelp = `CONV is a contact (name or peer ID) or a group (name or ID); MSG is a
message's ID or a unique prefix of it (at least 4 hex characters), as
'parley messages --json' lists them.`

func actionCmd(g *globals, cmd *cobra.Command, req func(args []string) apitype.ActionRequest,
	text func(w io.Writer, v client.MessageView) error) *cobra.Command {
	return viewCmd(g, cmd, func(ctx context.Context, c *client.Client, args []string) (client.MessageView, error) {
		return c.Act(ctx, req(args))
	}, text)
}

func newReplyCmd(g *globals) *cobra.Command {
	return actionCmd(g, &cobra.Command{
		Use:   "reply CONV MSG TEXT...",
		Short: "Reply to a message, quoting it",
		Long:  "Reply to a message of a conversation; the reply quotes its author and first line.\n\n" + convoArgHelp,
		Args:  usageArgs(cobra.MinimumNArgs(3)),
	}, func(args []string) apitype.ActionRequest {
		return apitype.ActionRequest{Action: parley.ActionReply, Conversation: args[0], Message: args[1], Text: strings.Join(args[2:], " ")}
	}, printSent)
}

func newEditCmd(g *globals) *cobra.Command {
	return actionCmd(g, &cobra.Command{
		Use:   "edit CONV MSG TEXT...",
		Short: "Edit one of your messages, for everyone",
		Long: `Replace the text of one of your messages, for every member; they see
the latest text marked edited, and the earlier versions stay viewable
('parley messages --json' lists them as edits).

` + convoArgHelp,
		Args: usageArgs(cobra.MinimumNArgs(3)),
	}, func(args []string) apitype.ActionRequest {
		return apitype.ActionRequest{Action: parley.ActionEdit, Conversation: args[0], Message: args[1], Text: strings.Join(args[2:], " ")}
	}, printActed("edited"))
}

func newDeleteCmd(g *globals) *cobra.Command {
	var everyone bool
	cmd := actionCmd(g, &cobra.Command{
		Use:   "delete CONV MSG",
		Short: "Delete a message, here or for everyone",
		Long: `Delete a message here only, or with --for-everyone for every member (your
own messages; in a group, admins may delete anyone's): its text or file and
its edits are then removed from every member's store, and it stays listed
as deleted.

` + convoArgHelp,
		Args: usageArgs(cobra.ExactArgs(2)),
	}, func(args []string) apitype.ActionRequest {
		return apitype.ActionRequest{Action: parley.ActionDelete, Conversation: args[0], Message: args[1], ForEveryone: everyone}
	}, printActed("deleted"))
	cmd.Flags().BoolVar(&everyone, "for-everyone", false, "delete it for every member, not only here")
	return cmd
}

func newReactCmd(g *globals) *cobra.Command {
	var remove bool
	cmd := actionCmd(g, &cobra.Command{
		Use:   "react CONV MSG EMOJI",
		Short: "React to a message with an emoji, or withdraw it",
		Long:  "React to a message with one emoji; --remove withdraws it.\n\n" + convoArgHelp,
		Args:  usageArgs(cobra.ExactArgs(3)),
	}, func(args []string) apitype.ActionRequest {
		return apitype.ActionRequest{Action: parley.ActionReact, Conversation: args[0], Message: args[1], Emoji: args[2], Remove: remove}
	}, printActed("reactions"))
	cmd.Flags().BoolVar(&remove, "remove", false, "withdraw your reaction")
	return cmd
}

// printActed confirms an edit, delete or reaction with the message as now
// seen.
func printActed(what string) func(w io.Writer, m client.MessageView) error {
	return func(w io.Writer, m client.MessageView) error {
		_, err := fmt.Fprintf(w, "%s: message %s: %s\n", what, m.ID, annotated(m, m.Text))
		return err
	}
}

// annotated is a message's text as a listing shows it: deleted, edited,
// with its quote and its reactions.
func annotated(m client.MessageView, text string) string {
	if m.Deleted {
		text = "[deleted]"
	} else if m.Edited {
		text += " (edited)"
	}
	if q := m.Quote; q != nil {
		switch {
		case q.Missing:
			text = "[reply to a message you do not have] " + text
		case q.Deleted:
			text = "[reply to a deleted message] " + text
		default:
			text = fmt.Sprintf("[reply to %s: %q] %s", nameOr(q.FromName, q.From), q.Text, text)
		}
	}
	if len(m.Reactions) > 0 {
		var parts []string
		for _, e := range slices.Sorted(maps.Keys(m.Reactions)) {
			parts = append(parts, fmt.Sprintf("%s %d", e, len(m.Reactions[e])))
		}
		text += "  (" + strings.Join(parts, ", ") + ")"
	}
	return text + receiptNote(m)
}
