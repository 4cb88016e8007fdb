package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
)

func newSearchCmd(g *globals) *cobra.Command {
	var conv string
	var limit int
	cmd := viewCmd(g, &cobra.Command{
		Use:   "search TEXT...",
		Short: "Search your messages, in every conversation",
		Long: `Find the messages held here, in every DM and group, whose text (or a
file's name) has every word of TEXT, newest first. The last word may be
the start of a word: "parley search meet tom" finds "meeting Tomas".
Matching ignores case and accents (cafe finds Café); Chinese, Japanese
and Korean are matched by pairs of characters. Deleted messages, and
what an edit replaced, are not found.

Each line shows when, the conversation, the author, the message's ID
(for reply, edit, delete and react) and the text around the match, with
the matching words in [brackets].`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.SearchView, error) {
		return c.Search(ctx, strings.Join(args, " "), conv, limit)
	}, printSearch)
	cmd.Flags().StringVar(&conv, "conv", "", "search this conversation only: a contact (name or peer ID) or a group (name or ID)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many results, 1 to 100 (default 20)")
	return cmd
}

func printSearch(w io.Writer, v client.SearchView) error {
	if v.Indexing {
		fmt.Fprintln(w, "(Older messages are still being indexed: some may be missing.)")
	}
	if len(v.Results) == 0 {
		_, err := fmt.Fprintln(w, "No messages found.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range v.Results {
		m := r.Message
		who := "you"
		if !m.Outgoing {
			who = nameOr(m.FromName, m.From)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.SentAt.Local().Format(timeLayout),
			nameOr(r.ConversationName, r.Conversation.String()[:12]), who, m.ID.String()[:12], bracketed(r.Snippet, r.Highlights))
	}
	return tw.Flush()
}

// bracketed puts the highlighted parts of s (in code points) in brackets.
func bracketed(s string, highlights [][2]int) string {
	rs := []rune(s)
	var b strings.Builder
	at := 0
	for _, h := range highlights {
		if h[0] < at || h[1] > len(rs) || h[0] >= h[1] {
			continue
		}
		b.WriteString(string(rs[at:h[0]]))
		b.WriteString("[" + string(rs[h[0]:h[1]]) + "]")
		at = h[1]
	}
	b.WriteString(string(rs[at:]))
	return b.String()
}
