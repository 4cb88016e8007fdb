package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// Linking a new device (PROTOCOL.md §11.6): `parley link` on the new
// device, `parley devices accept CODE` on the existing one.

// linkPollEvery is how often `parley link` asks for the code's state
// besides listening to the events, in case the stream misses one.
const linkPollEvery = 2 * time.Second

// acceptTimeout bounds `parley devices accept` up to the safety code (the
// new device is dialed, perhaps found through the DHT), and linkTimeout
// the link after the confirmation (the snapshot of the store travels).
const (
	acceptTimeout = 2 * time.Minute
	linkTimeout   = 10 * time.Minute
)

func newLinkCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "link",
		Short: "Link this new Parley as one more device of a person: show a code, then wait",
		Long: `Link this Parley, freshly started, as one more device of your person.

It shows a link code (and its QR code) and waits. On your existing device,
enter it with "parley devices accept CODE": both devices then show the same
safety code; compare them, and confirm on the existing device. This device
then receives your person's keys, contacts, groups and history, restarts on
them and prints "linked to" your person. The code is good for 10 minutes and
one link. Only a Parley with no contacts or messages of its own can be
linked.

--json prints {"code": …} (the code's state) first, then one JSON object a
line for each change: dialed (with the safety code), linked, expired,
refused.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.follow(cmd, func(ctx context.Context, c *client.Client) error {
				return runLink(ctx, c, cmd.OutOrStdout(), asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the code's state as JSON, one object a line")
	return cmd
}

// runLink shows the code and follows it until it links, expires or is
// refused.
func runLink(ctx context.Context, c *client.Client, w io.Writer, asJSON bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The events flow before the code exists, so no change is missed.
	events, err := c.Events(ctx)
	if err != nil {
		return err
	}
	defer events.Close()
	updates := make(chan client.LinkStatusView, 16)
	go func() {
		for {
			ev, err := events.Next(ctx)
			if err != nil {
				return
			}
			if ev.Type == parley.EventLink && ev.Link != nil {
				select {
				case updates <- *ev.Link:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	st, err := call(ctx, c.StartLink)
	if err != nil {
		return err
	}
	if err := showLink(w, st, asJSON); err != nil {
		return err
	}
	tick := time.NewTicker(linkPollEvery)
	defer tick.Stop()
	shown := st
	for {
		var next client.LinkStatusView
		select {
		case next = <-updates:
		case <-tick.C:
			if next, err = call(ctx, c.LinkStatus); err != nil {
				continue // the node restarts in place once linked: ask again
			}
		case <-ctx.Done():
			return errors.New("stopped waiting; the code stays good until it expires")
		}
		if next.State == shown.State {
			continue
		}
		shown = next
		if err := showLink(w, next, asJSON); err != nil {
			return err
		}
		switch next.State {
		case parley.LinkLinked:
			return nil
		case parley.LinkExpired:
			return errors.New("the link code expired: run parley link again for a new one")
		case parley.LinkRefused:
			return fmt.Errorf("not linked: %s (run parley link again for a new code)", next.Error)
		}
	}
}

// showLink prints one state of the code.
func showLink(w io.Writer, st client.LinkStatusView, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var err error
	switch st.State {
	case parley.LinkWaiting:
		_, err = fmt.Fprintf(w, "Link code (good until %s):\n\n%s\n\n%sOn your existing device: parley devices accept %s\nWaiting…\n",
			st.Expires.Local().Format(timeLayout), st.Code, terminalQR(st.Code), st.Code)
	case parley.LinkDialed:
		_, err = fmt.Fprintf(w, "Dialed by %s. Safety code:\n\n    %s\n\nCheck that your existing device shows the same code, and confirm there.\n", st.Device, st.Safety)
	case parley.LinkLinked:
		_, err = fmt.Fprintf(w, "linked to %s\n", st.Person)
	}
	return err
}

// terminalQR draws code as a QR code with half-block characters, or
// nothing if it cannot. Uppercased, a code is QR alphanumeric (PROTOCOL.md
// §11.5), the smallest QR there is for it.
func terminalQR(code string) string {
	q, err := qrcode.New(strings.ToUpper(code), qrcode.Medium)
	if err != nil {
		return ""
	}
	return q.ToSmallString(false) + "\n"
}

func newDevicesAcceptCmd(g *globals) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "accept CODE",
		Short: "Link the new device that shows CODE as one more of your devices",
		Long: `Link the new device that shows CODE (from "parley link" on it) as one more
device of your person. Both devices then show a safety code: compare them,
and answer y only if they are the same. The new device then receives your
person's keys, contacts, groups and history. --yes links without asking.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.follow(cmd, func(ctx context.Context, c *client.Client) error {
				return acceptLink(ctx, cmd, c, args[0], yes)
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "link without asking to compare the safety code")
	return cmd
}

func acceptLink(ctx context.Context, cmd *cobra.Command, c *client.Client, code string, yes bool) error {
	out := cmd.OutOrStdout()
	actx, cancel := context.WithTimeout(ctx, acceptTimeout)
	if yes {
		actx, cancel = context.WithTimeout(ctx, linkTimeout)
	}
	defer cancel()
	v, err := c.AcceptLink(actx, code, yes)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Safety code: %s\n", v.Safety)
	if !yes {
		fmt.Fprint(cmd.ErrOrStderr(), "Do both screens show this code? [y/N] ")
		answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		a := strings.ToLower(strings.TrimSpace(answer))
		lctx, cancel := context.WithTimeout(ctx, linkTimeout)
		defer cancel()
		if v, err = c.ConfirmLink(lctx, v.Session, a == "y" || a == "yes"); err != nil {
			return err
		}
	}
	if v.Device == nil {
		return errors.New("the node answered without the device it linked")
	}
	_, err = fmt.Fprintf(out, "Linked %s (%s)\n", nameOr(v.Device.Name, "a device"), v.Device.PeerID)
	return err
}
