package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// Disappearing messages: `parley timer CONV [off|DURATION]`, one GET or
// PUT /api/v1/timer.

func newTimerCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "timer CONV [off|DURATION]",
		Short: "Show or set a conversation's disappearing messages",
		Long: `Show, or set, the disappearing-messages timer of a conversation. While it
is on, each text and file written is removed from every member's store that
long after it was sent (its text, file and edits are gone from disk).
Either side of a DM may set it; in a group, admins.

DURATION is a number with a unit: s, m, h, d (days) or w (weeks), or a
Go duration such as 1h30m; from 30s to 365d. 'off' turns it off.

CONV is a contact (name or peer ID) or a group (name or ID).`,
		Example: "  parley timer alice 1h\n  parley timer club 7d\n  parley timer alice off",
		Args:    usageArgs(cobra.RangeArgs(1, 2)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.TimerView, error) {
		if len(args) == 1 {
			return c.Timer(ctx, args[0])
		}
		d, err := parseTimer(args[1])
		if err != nil {
			return client.TimerView{}, err
		}
		return c.SetTimer(ctx, args[0], uint32(d/time.Second))
	}, printTimer)
}

// parseTimer reads "off", a number with a unit of s, m, h, d or w, or a Go
// duration, and checks it is a timer Parley takes.
func parseTimer(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "off", "0":
		return 0, nil
	case "":
		return 0, fmt.Errorf("%w: an empty duration: want e.g. 5m, 1h, 7d or off", parley.ErrMalformed)
	}
	var d time.Duration
	units := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if u, ok := units[s[len(s)-1]]; ok && len(s) > 1 {
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%w: duration %q: want e.g. 5m, 1h, 7d or off", parley.ErrMalformed, s)
		}
		d = time.Duration(n) * u
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%w: duration %q: want e.g. 5m, 1h, 7d or off", parley.ErrMalformed, s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%w: duration %q: want a positive duration, or off", parley.ErrMalformed, s)
	}
	return d, parley.CheckTimer(d)
}

// timerText says a timer the way people do: "off", "5 minutes", "1 hour",
// "7 days", "1 week", "90 seconds".
func timerText(seconds uint32) string {
	if seconds == 0 {
		return "off"
	}
	for _, u := range []struct {
		name string
		secs uint32
	}{{"week", 7 * 86400}, {"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}} {
		if seconds%u.secs == 0 {
			n := seconds / u.secs
			if n == 1 {
				return "1 " + u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	return "" // unreachable: every count is a whole number of seconds
}

func printTimer(w io.Writer, t client.TimerView) error {
	line := "disappearing messages: " + timerText(t.Seconds)
	if t.SetBy != "" && t.SetAt != nil {
		line += fmt.Sprintf(" (set by %s, %s)", nameOr(t.SetByName, t.SetBy), t.SetAt.Local().Format(timeLayout))
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
