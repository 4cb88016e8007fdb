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

func printSelf(w io.Writer, s client.SelfView, long bool) error {
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
	if long {
		fmt.Fprintf(tw, "Long invite:\t%s\n", s.InviteLong)
	}
	return tw.Flush()
}

func printContacts(w io.Writer, cs []client.ContactView, empty string) error {
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, empty)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPEER ID\tONLINE\tSAFETY NUMBER\tVERIFIED")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(c.Name), c.PeerID, yesNo(c.Online), orDash(c.SafetyNumber), verifiedMark(c))
	}
	return tw.Flush()
}

// verifiedMark is the VERIFIED column: a key change outshouts the rest,
// since it is the one the user must act on.
func verifiedMark(c client.ContactView) string {
	switch {
	case c.KeysChanged:
		return "keys changed!"
	case c.Verified:
		return "yes"
	}
	return "-"
}

// printAdded confirms a new contact and shows the safety number to compare.
func printAdded(w io.Writer, verb string, c client.ContactView) error {
	fmt.Fprintf(w, "%s %s (%s)\n", verb, orDash(c.Name), c.PeerID)
	if c.SafetyNumber != "" {
		fmt.Fprintf(w, "Safety number: %s\n", c.SafetyNumber)
	}
	if c.Warning != "" {
		fmt.Fprintf(w, "Warning: %s\n", c.Warning)
	}
	return nil
}

// printMessages prints one line per message; a group message, written to
// everyone in the group, has no recipient; a file offered shows its name:
//
//	2026-11-30 10:15:04  alice → you: hello  [read]
//	2026-11-30 10:16:10  bob: hello all  [delivered]
//	2026-11-30 10:17:00  bob: [file] photo.jpg  [delivered]
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
		text := m.Text
		switch {
		case m.Kind == parley.KindTimer:
			text = "[set disappearing messages to " + timerText(m.TimerSeconds) + "]"
		case m.Kind == parley.KindFile:
			text = "[file] " + text
		case m.Kind == parley.KindMailboxOffer && m.Outgoing:
			text = "[offered to hold their mail]"
		case m.Kind == parley.KindMailboxOffer:
			text = "[offers to hold your mail while you are offline: parley mailbox accept " + m.ID.String() + "]"
			if m.MailboxOffer != nil && m.MailboxOffer.State != parley.OfferOpen {
				text = "[offered to hold your mail: " + string(m.MailboxOffer.State) + "]"
			}
		}
		status := m.Status.String()
		if m.Reason != "" {
			status += ": " + m.Reason
		}
		text = annotated(m, text)
		if m.ExpiresAt != nil {
			text += "  (disappears " + m.ExpiresAt.Local().Format(timeLayout) + ")"
		}
		if _, err := fmt.Fprintf(w, "%s  %s: %s  [%s]\n",
			m.SentAt.Local().Format(timeLayout), who, text, status); err != nil {
			return err
		}
	}
	return nil
}

// printSent confirms a send: its status, who it is for and its ID, not the
// text the user has just typed.
func printSent(w io.Writer, m client.MessageView) error {
	to := "the group"
	if m.To != "" {
		to = nameOr(m.ToName, m.To)
	}
	_, err := fmt.Fprintf(w, "%s for %s: message %s\n", m.Status, to, m.ID)
	return err
}

func printPeers(w io.Writer, ps []client.PeerView) error {
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
func printStatus(w io.Writer, s client.NetworkStatusView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Reachability:\t%s\n", s.Reachability)
	fmt.Fprintf(tw, "Private network:\t%s\n", yesNo(s.PrivateNetwork))
	fmt.Fprintf(tw, "mDNS:\t%s\n", onOff(s.MDNS))
	fmt.Fprintf(tw, "DHT:\t%s mode, %d peers in the routing table\n", s.DHTMode, s.DHTPeers)
	if s.PublicDHT {
		fmt.Fprintf(tw, "Public DHT:\ton, %d peers in the routing table\n", s.PublicDHTPeers)
	} else {
		fmt.Fprintf(tw, "Public DHT:\toff\n")
	}
	fmt.Fprintf(tw, "Relay service:\t%s\n", onOff(s.RelayService))
	if m := s.Mailbox; s.MailboxService && m != nil {
		fmt.Fprintf(tw, "Mailbox service:\ton, %d of %d owners, %d envelopes, %d KB held\n", m.Owners, m.MaxOwners, m.Envelopes, (m.Bytes+1023)>>10)
		fmt.Fprintf(tw, "\tsince start: %d deposits stored, %d refused, %d delivered\n", m.Deposits, m.Refused, m.Delivered)
	} else {
		fmt.Fprintf(tw, "Mailbox service:\toff\n")
	}
	if d := s.Disk; d != nil {
		switch {
		case d.Full:
			fmt.Fprintf(tw, "Disk:\t%s\n", d.Message)
		case d.FreeBytes >= 0:
			fmt.Fprintf(tw, "Disk:\t%d MB free\n", d.FreeBytes>>20)
		}
	}
	printList(tw, "Listening on:", s.ListenAddrs)
	printList(tw, "Announcing:", s.AnnouncedAddrs)
	printList(tw, "Observed as:", s.ObservedAddrs)
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
	fmt.Fprintln(tw, "WITH\tUNREAD\tLAST MESSAGE\tSTATE")
	for _, c := range cs {
		last := "-"
		if c.LastHLC != 0 {
			last = c.LastHLC.Time().Local().Format(timeLayout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", nameOr(c.Name, c.Peer), strconv.Itoa(c.Unread), last, convStateWords(c))
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
	fmt.Fprintln(tw, "NAME\tSTATE\tROLE\tMEMBERS\tHISTORY\tUNREAD\tLAST MESSAGE\tID")
	for _, g := range gs {
		last := "-"
		if !g.LastMessageAt.IsZero() {
			last = g.LastMessageAt.Local().Format(timeLayout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n",
			orDash(g.Name), g.State, orDash(string(g.Role)), g.Members, g.History, g.Unread, last, g.ID)
	}
	return tw.Flush()
}

func printGroupInvites(w io.Writer, gs []client.GroupView) error {
	if len(gs) == 0 {
		_, err := fmt.Fprintln(w, "No group invitations.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tINVITED BY\tMEMBERS\tHISTORY\tID")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", orDash(g.Name), nameOr(g.InvitedByName, g.InvitedBy), g.Members, g.History, g.ID)
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
	fmt.Fprintln(tw, "NAME\tROLE\tONLINE\tMAILBOXES\tPEER ID")
	for _, m := range ms {
		name := orDash(m.Name)
		if m.Self {
			name += " (you)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", name, m.Role, yesNo(m.Online), m.Mailboxes, m.PeerID)
	}
	return tw.Flush()
}

// printFiles lists files, newest first, with where the finished ones are.
func printFiles(w io.Writer, fs []client.FileView) error {
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "No files yet. Send one with: parley file send CONTACT PATH")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSIZE\tFROM\tSTATE\tDONE\tPATH")
	for _, f := range fs {
		from := "you"
		if !f.Outgoing {
			from = nameOr(f.FromName, f.From)
		}
		state := string(f.State)
		if f.Error != "" {
			state += " (" + f.Error + ")"
		}
		pct := int64(100)
		if f.Size > 0 {
			pct = f.BytesDone * 100 / f.Size
		}
		path := "-"
		if f.State == parley.FileComplete {
			path = f.Path
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s (%d%%)\t%s\n",
			f.ID, f.Name, humanBytes(f.Size), from, state, humanBytes(f.BytesDone), pct, path)
	}
	return tw.Flush()
}

func printSettings(w io.Writer, s client.SettingsView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s.AutoAcceptBytes > 0 {
		fmt.Fprintf(tw, "Auto-accept:\tfiles from contacts up to %s; larger ones wait for: parley file get ID\n", humanBytes(s.AutoAcceptBytes))
	} else {
		fmt.Fprintf(tw, "Auto-accept:\tnever; every file waits for: parley file get ID\n")
	}
	fmt.Fprintf(tw, "Downloads:\t%s\n", orDash(s.Downloads))
	if s.PublicDHT {
		fmt.Fprintf(tw, "Public DHT:\ton; contacts on other networks can find you through the public IPFS DHT\n")
	} else {
		fmt.Fprintf(tw, "Public DHT:\toff; contacts are found through bootstrap peers and the local network\n")
	}
	hold := "off"
	if s.MailboxService {
		hold = "on; this node holds mail for the people who chose it as their mailbox"
	}
	if s.MailboxServiceAtStart {
		hold += " (set by parley run --mailbox-service or --relay-service until a restart without it)"
	}
	fmt.Fprintf(tw, "Hold mail for others:\t%s\n", hold)
	printPresenceSettings(tw, s)
	if s.ReadReceipts {
		fmt.Fprintf(tw, "Read receipts:\ton; contacts and group members see when you read their messages\n")
	} else {
		fmt.Fprintf(tw, "Read receipts:\toff; they see only that your node got them\n")
	}
	return tw.Flush()
}

// humanBytes is a size for people, in 1024s: "512 B", "1.5 KiB",
// "200 MiB".
func humanBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if v >= 100 {
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strings.TrimSuffix(s, ".0") + " " + units[i:i+1] + "iB"
}

// parseSize reads a size as people write it: 4096, 512K, 25MB, 1.5 GiB
// (K, M, G and T count 1024s, with or without "B" or "iB"); 0, "never"
// and "off" are 0.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "never" || t == "off" {
		return 0, nil
	}
	num := strings.TrimRight(t, "kmgtib ")
	unit := strings.TrimSpace(t[len(num):])
	mult := map[string]float64{"": 1, "b": 1}
	for i, u := range []string{"k", "m", "g", "t"} {
		m := float64(int64(1) << (10 * (i + 1)))
		mult[u], mult[u+"b"], mult[u+"ib"] = m, m, m
	}
	m, okUnit := mult[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !okUnit || v < 0 || v*m >= 1<<62 || strings.Trim(num, "0123456789.") != "" {
		return 0, fmt.Errorf("size %q: want a number of bytes, or one with KB, MB or GB (25MB, 1.5GB), or never", s)
	}
	return int64(v * m), nil
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
