package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// timeLayout is how the CLI shows times, in the local zone.
const timeLayout = "2006-01-02 15:04:05"

// printJSON prints v as the API gives it, indented for people.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printSelf(w io.Writer, s parley.Self) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Name:\t%s\n", s.Name)
	fmt.Fprintf(tw, "Peer ID:\t%s\n", s.PeerID)
	fmt.Fprintf(tw, "Fingerprint:\t%s\n", s.Fingerprint)
	if len(s.Addrs) == 0 {
		fmt.Fprintf(tw, "Addresses:\t(none yet)\n")
	}
	for i, a := range s.Addrs {
		label := ""
		if i == 0 {
			label = "Addresses:"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, a)
	}
	fmt.Fprintf(tw, "Invite:\t%s\n", s.Invite)
	return tw.Flush()
}

func printContacts(w io.Writer, cs []client.ContactView, empty string) error {
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, empty)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPEER ID\tONLINE\tSAFETY NUMBER")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", orDash(c.Name), c.PeerID, yesNo(c.Online), orDash(c.SafetyNumber))
	}
	return tw.Flush()
}

// printAdded confirms a new contact and shows the safety number to compare.
func printAdded(w io.Writer, verb string, c client.ContactView) error {
	fmt.Fprintf(w, "%s %s (%s)\n", verb, orDash(c.Name), c.PeerID)
	if c.SafetyNumber != "" {
		fmt.Fprintf(w, "Safety number: %s\n", c.SafetyNumber)
	}
	return nil
}

// printMessages prints one line per message; a group message, written to
// everyone in the group, has no recipient:
//
//	2026-11-30 10:15:04  alice → you: hello  [read]
//	2026-11-30 10:16:10  bob: hello all  [delivered]
func printMessages(w io.Writer, ms []client.MessageView) error {
	for _, m := range ms {
		who := "you"
		if !m.Outgoing {
			who = nameOr(m.FromName, m.From)
		}
		switch {
		case m.To == "": // a group message
		case m.Outgoing:
			who += " → " + nameOr(m.ToName, m.To)
		default:
			who += " → you"
		}
		if _, err := fmt.Fprintf(w, "%s  %s: %s  [%s]\n",
			m.SentAt.Local().Format(timeLayout), who, m.Text, m.Status); err != nil {
			return err
		}
	}
	return nil
}

func printPeers(w io.Writer, ps []parley.PeerInfo) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "No peers connected.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER ID\tNAME\tADDRESSES")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.PeerID, orDash(p.Name), strings.Join(p.Addrs, " "))
	}
	return tw.Flush()
}

// printStatus prints the network state, then one line per connected peer.
func printStatus(w io.Writer, s parley.NetworkStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Reachability:\t%s\n", s.Reachability)
	fmt.Fprintf(tw, "Private network:\t%s\n", yesNo(s.PrivateNetwork))
	fmt.Fprintf(tw, "mDNS:\t%s\n", onOff(s.MDNS))
	fmt.Fprintf(tw, "DHT:\t%s mode, %d peers in the routing table\n", s.DHTMode, s.DHTPeers)
	printList(tw, "Listening on:", s.ListenAddrs)
	printList(tw, "Announcing:", s.AnnouncedAddrs)
	printList(tw, "Relays:", s.Relays)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(s.Peers) == 0 {
		_, err := fmt.Fprintln(w, "No peers connected.")
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER ID\tNAME\tTRANSPORT\tDIRECTION\tADDRESSES")
	for _, p := range s.Peers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.PeerID, orDash(p.Name), p.Transport, p.Direction, strings.Join(p.Addrs, " "))
	}
	return tw.Flush()
}

// printList prints a labelled list one item a line, or "(none)".
func printList(tw io.Writer, label string, items []string) {
	if len(items) == 0 {
		fmt.Fprintf(tw, "%s\t(none)\n", label)
	}
	for i, item := range items {
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, item)
	}
}

func printConversations(w io.Writer, cs []client.ConversationView) error {
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, "No conversations yet.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WITH\tUNREAD\tLAST MESSAGE")
	for _, c := range cs {
		last := "-"
		if c.LastHLC != 0 {
			last = c.LastHLC.Time().Local().Format(timeLayout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", nameOr(c.Name, c.Peer), strconv.Itoa(c.Unread), last)
	}
	return tw.Flush()
}

// printGroups lists groups, the ID last: it is long, and needed only where
// two groups share a name.
func printGroups(w io.Writer, gs []client.GroupView) error {
	if len(gs) == 0 {
		_, err := fmt.Fprintln(w, "No groups yet. Start one with: parley group create NAME")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tROLE\tMEMBERS\tUNREAD\tLAST MESSAGE\tID")
	for _, g := range gs {
		last := "-"
		if !g.LastMessageAt.IsZero() {
			last = g.LastMessageAt.Local().Format(timeLayout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n",
			orDash(g.Name), g.State, orDash(string(g.Role)), g.Members, g.Unread, last, g.ID)
	}
	return tw.Flush()
}

func printGroupInvites(w io.Writer, gs []client.GroupView) error {
	if len(gs) == 0 {
		_, err := fmt.Fprintln(w, "No group invitations.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tINVITED BY\tMEMBERS\tID")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", orDash(g.Name), nameOr(g.InvitedByName, g.InvitedBy), g.Members, g.ID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "Answer with: parley group accept GROUP, or parley group decline GROUP")
	return err
}

// printGroupMembers lists members as the node orders them, admins first,
// with "(you)" beside your own name.
func printGroupMembers(w io.Writer, ms []client.GroupMemberView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tONLINE\tPEER ID")
	for _, m := range ms {
		name := orDash(m.Name)
		if m.Self {
			name += " (you)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, m.Role, yesNo(m.Online), m.PeerID)
	}
	return tw.Flush()
}

// plural is "1 member", "2 members".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func nameOr(name, peerID string) string {
	if name != "" {
		return name
	}
	return orDash(peerID)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
