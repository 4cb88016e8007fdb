package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
)

// Message info: GET /api/v1/conversations/{conv}/messages/{msg}/info.

func newInfoCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "info CONV MSG",
		Short: "Show when a message was delivered and read, by whom, or why not yet",
		Long: `Show when a message was sent, and for each recipient when it was
delivered and read; for one it has not reached yet, why: whether they are
online, since when they could not be reached, the last attempt and its
path (direct, relay, mailbox), its error and the next retry. A group's
recipients are its members but the author.

` + convoArgHelp,
		Args: usageArgs(cobra.ExactArgs(2)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.MessageInfoView, error) {
		return c.MessageInfo(ctx, args[0], args[1])
	}, printInfo)
}

func printInfo(w io.Writer, v client.MessageInfoView) error {
	m := v.Message
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Message:\t%s\n", m.ID)
	fmt.Fprintf(tw, "From:\t%s\n", nameOr(m.FromName, m.From))
	fmt.Fprintf(tw, "Text:\t%s\n", annotated(m, m.Text))
	fmt.Fprintf(tw, "Sent:\t%s\n", stamp(&m.SentAt))
	fmt.Fprintf(tw, "Status:\t%s\n", m.Status)
	if m.Reason != "" {
		fmt.Fprintf(tw, "Waiting:\t%s\n", m.Reason)
	}
	if v.Group {
		fmt.Fprintf(tw, "Delivered:\tto %d of %d\n", v.Delivered, len(v.Recipients))
		fmt.Fprintf(tw, "Read:\tby %d of %d\n", v.Read, len(v.Recipients))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range v.Recipients {
		fmt.Fprintf(w, "\n%s (%s)\n", nameOr(r.Name, r.PeerID), r.PeerID)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  Delivered:\t%s\n", stamp(r.DeliveredAt))
		fmt.Fprintf(tw, "  Read:\t%s\n", stamp(r.ReadAt))
		if p := r.Pending; p != nil {
			online := "no"
			if p.Online {
				online = "yes"
			}
			if p.OfflineSince != nil {
				online += ", unreachable since " + stamp(p.OfflineSince)
			}
			fmt.Fprintf(tw, "  Online:\t%s\n", online)
			if p.LastAttempt != nil {
				fmt.Fprintf(tw, "  Last attempt:\t%s over %s\n", stamp(p.LastAttempt), orDash(p.Path))
			} else if p.Path != "" {
				fmt.Fprintf(tw, "  Path:\t%s\n", p.Path)
			}
			if p.NextRetry != nil {
				fmt.Fprintf(tw, "  Next retry:\t%s\n", stamp(p.NextRetry))
			}
			if p.LastError != "" {
				fmt.Fprintf(tw, "  Last error:\t%s\n", p.LastError)
			}
			if p.Mailbox {
				fmt.Fprintf(tw, "  Mailbox:\ta mailbox of theirs holds it\n")
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// stamp is a time in the user's zone, or "-" for none.
func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// receiptNote is how far one of our group messages got, as a listing
// shows it: "  [read by 2, delivered to 3]"; empty for other messages.
func receiptNote(m client.MessageView) string {
	if !m.Outgoing || len(m.Receipts) == 0 {
		return ""
	}
	read, delivered := 0, 0
	for _, r := range m.Receipts {
		if r.ReadAt != nil {
			read++
		}
		if r.DeliveredAt != nil {
			delivered++
		}
	}
	return fmt.Sprintf("  [read by %d, delivered to %d]", read, delivered)
}
