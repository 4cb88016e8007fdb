// Package mailbox holds mail for people who are offline, over
// /parley/mailbox/1.0.0 (PROTOCOL.md §9, docs/design-notes.md "Mailboxes").
//
// The service side (Service) runs on any node that agrees to be a mailbox.
// It serves only owners who registered with it, with a registration signed
// by their identity key, for this mailbox, for a bounded time. It takes
// deposits only with a capability the owner issued (a MAC under a deposit
// key the owner registered), so strangers cannot fill it; it stores each
// deposit durably before it answers, once per envelope ID, under a quota
// per owner (count and bytes) and a TTL; and it hands the owner its mail in
// pages, after a challenge signed by the owner's identity key, deleting
// what the owner acknowledges.
//
// The client side (Client, DepositOnce) is what senders and owners use:
// a sender deposits from a one-time libp2p identity, so the mailbox never
// learns who sent what; an owner registers, authenticates, fetches and
// acknowledges.
//
// A mailbox sees ciphertext (envelopes are sealed and signed end to end),
// the owner's ID, sizes and times. It can drop mail; it cannot read,
// forge or alter it undetected, because the recipient checks each
// envelope's signature as for a direct delivery.
//
// Stats and Collector are the operator's view: what the service did since
// it started, for `parley status` and Prometheus (metrics.go).
//
// The node serves this service and fetches its user's own mail
// (node/mailboxes.go); it hands each contact a capability per mailbox
// (CapabilityFor, in a DM grant), and its DM couriers deposit for contacts
// they cannot reach (node/grants.go, node/dm/deposit.go; PROTOCOL.md
// §9.9), and group writers for offline members who are contacts
// (node/group_mail.go, §9.10). Not built yet: group members who are not
// contacts, and file chunks. See PROTOCOL.md §9.7.
package mailbox
