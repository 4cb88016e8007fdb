package apitype_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Domain values the views are made from: one with every field set, and
// zero values, whose nil slices and empty fields show what is omitted.
var (
	hlc     = parley.NewHLC(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), 3)
	convID  = parley.DMConversationID("12D3KooWSelf", "12D3KooWAlice")
	groupID = parley.ConversationID{0xab, 0xcd}
	msgID   = parley.NewEnvelopeID([]byte("message"))
	replyTo = parley.NewEnvelopeID([]byte("earlier"))

	self = parley.Self{PeerID: "12D3KooWSelf", Name: "me", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"},
		Invite: "PARLEY-INVITE", InviteLong: "PARLEY-LONG-INVITE", Fingerprint: "12345 67890", DataDir: "/home/me/.config/parley"}
	contact = parley.Contact{PeerID: "12D3KooWAlice", Name: "alice", HPKEKey: []byte{1, 2, 3},
		Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, State: parley.ContactAccepted,
		AddedAt:   time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		Mailboxes: []parley.Mailbox{{PeerID: "12D3KooWMailbox", Addrs: []string{"/ip4/192.0.2.1/tcp/4001"}}}}
	message = parley.Message{ID: msgID, Conversation: convID, From: "12D3KooWAlice", To: "12D3KooWSelf",
		Kind: parley.KindText, Text: `<b>hi</b> & "bye"`, ReplyTo: &replyTo, HLC: hlc, Status: parley.StatusRead}
	fileMessage = parley.Message{ID: msgID, Conversation: groupID, From: "12D3KooWSelf", Outgoing: true,
		Kind: parley.KindFile, Text: "photo.png", FileID: "00112233445566778899aabbccddeeff", HLC: hlc,
		Status: parley.StatusQueued}
	conversation = parley.Conversation{ID: convID, Kind: parley.ConversationDM, Peer: "12D3KooWAlice",
		LastHLC: hlc, Unread: 2}
	groupConversation = parley.Conversation{ID: groupID, Kind: parley.ConversationGroup, Name: "team",
		LastHLC: hlc}
	group = parley.Group{ID: groupID, Name: "team", State: parley.GroupJoined, Role: parley.RoleAdmin,
		Members: 3, History: parley.HistoryHidden, InvitedBy: "12D3KooWAlice", LastHLC: hlc, Unread: 1}
	member = parley.GroupMember{PeerID: "12D3KooWAlice", Name: "alice", Role: parley.RoleAdmin,
		AddedBy: "12D3KooWSelf", Self: true, Mailboxes: 1}
	file = parley.File{ID: "00112233445566778899aabbccddeeff", Conversation: convID, Message: msgID,
		Name: "photo.png", Size: 4096, MediaType: "image/png", From: "12D3KooWSelf", Outgoing: true,
		State: parley.FileFailed, BytesDone: 1024, Path: "/tmp/photo.png", Error: "peer went away",
		ServedBytes: 2048}
	peerInfo = parley.PeerInfo{PeerID: "12D3KooWAlice", Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, Name: "alice"}
	status   = parley.NetworkStatus{Reachability: parley.ReachabilityPrivate,
		ListenAddrs: []string{"/ip4/0.0.0.0/tcp/4001"}, AnnouncedAddrs: []string{"/ip4/192.168.1.2/tcp/4001"},
		ObservedAddrs: []string{"/ip4/1.2.3.4/tcp/52000"}, Relays: []string{"/ip4/5.6.7.8/tcp/4001/p2p/12D3KooWRelay"},
		Peers: []parley.ConnectedPeer{{PeerID: "12D3KooWAlice", Name: "alice", Transport: "quic-v1",
			Direction: "outbound", Addrs: []string{"/ip4/127.0.0.1/udp/4002/quic-v1"}}, {}},
		DHTMode: "client", DHTPeers: 3, MDNS: true, RelayService: true, PublicDHT: true, PublicDHTPeers: 20,
		MailboxService: true, Mailbox: parley.MailboxLoad{Owners: 2, Envelopes: 3, Bytes: 4096, MaxOwners: 1000, Deposits: 5, Refused: 6, Delivered: 2},
		PrivateNetwork: true, Disk: parley.DiskStatus{Free: 5 << 30, MinFree: 64 << 20}}
	settings = parley.Settings{AutoAcceptBytes: 25 << 20, Downloads: "/home/me/Downloads", PublicDHT: true,
		MailboxService: true, MailboxServiceAtStart: true, ReadReceipts: true}
)

// offerView is a mailbox offer as the API shows it: its text moves to
// mailbox_offer, with the user's answer.
func offerView() apitype.MessageView {
	v := apitype.NewMessageView(parley.Message{ID: msgID, Conversation: convID, From: "12D3KooWAlice",
		To: "12D3KooWSelf", Kind: parley.KindMailboxOffer, HLC: hlc, Status: parley.StatusRead}, "alice", "me")
	v.MailboxOffer = apitype.NewMailboxOfferView(parley.MailboxOffer{
		Mailbox: parley.Mailbox{PeerID: "12D3KooWAlice", Addrs: []string{"/ip4/127.0.0.1/tcp/4003"}}, State: parley.OfferOpen})
	return v
}

// goldenViews are the API's views, each kind as a list of cases, named for
// their golden file.
func goldenViews() map[string]any {
	mv := apitype.NewMessageView(message, "alice", "me")
	fv := apitype.NewFileView(file, "me")
	gv := apitype.NewGroupView(group, "alice")
	stored := fileMessage
	stored.Kind, stored.Text, stored.FileID, stored.Status = parley.KindText, "in a mailbox", "", parley.StatusStored
	storedView := apitype.NewMessageView(stored, "me", "alice")
	return map[string]any{
		"self":    []any{apitype.NewSelfView(self, true), apitype.NewSelfView(parley.Self{}, false)},
		"contact": []any{apitype.NewContactView(contact, true, "1234"), apitype.NewContactView(parley.Contact{}, false, "")},
		"message": []any{mv, apitype.NewMessageView(fileMessage, "me", ""), offerView(), apitype.NewMessageView(parley.Message{}, "", "")},
		"conversation": []any{
			apitype.NewConversationView(conversation, "alice", true, &mv),
			apitype.NewConversationView(groupConversation, groupConversation.Name, false, nil),
			apitype.NewConversationView(parley.Conversation{}, "", false, nil),
		},
		"group":        []any{gv, apitype.NewGroupView(parley.Group{}, "")},
		"group_member": []any{apitype.NewGroupMemberView(member, true), apitype.NewGroupMemberView(parley.GroupMember{}, false)},
		"file":         []any{fv, apitype.NewFileView(parley.File{}, "")},
		"event": []any{
			apitype.EventView{Type: parley.EventMessage, Message: &mv},
			apitype.EventView{Type: parley.EventPresence, PeerID: "12D3KooWAlice", Online: true},
			apitype.EventView{Type: parley.EventGroup, Group: &gv},
			apitype.EventView{Type: parley.EventFile, File: &fv},
			apitype.EventView{Type: parley.EventRead, Conversation: convID},
			apitype.EventView{Type: parley.EventDisk, Disk: apitype.NewDiskView(parley.DiskStatus{Free: 12 << 20, MinFree: 64 << 20, Full: true})},
			apitype.EventView{Type: parley.EventStatus, Message: &storedView},
			apitype.EventView{Type: parley.EventStatus, Message: &mv, Reason: "mailbox full"},
			apitype.EventView{},
		},
		"peer": []any{apitype.NewPeerView(peerInfo), apitype.NewPeerView(parley.PeerInfo{})},
		"device": []any{
			apitype.NewDeviceView(parley.Device{PeerID: "12D3KooWSelf", Name: "laptop", This: true}),
			apitype.NewDeviceView(parley.Device{PeerID: "12D3KooWPhone", Name: "phone", LinkedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}),
			apitype.NewDeviceView(parley.Device{PeerID: "12D3KooWGone", Revoked: true}),
			apitype.NewDeviceView(parley.Device{}),
		},
		"status": []any{apitype.NewNetworkStatusView(status), apitype.NewNetworkStatusView(parley.NetworkStatus{})},
		"mailbox": []any{apitype.NewMailboxView(parley.Mailbox{PeerID: "12D3KooWAlice", Addrs: []string{"/ip4/127.0.0.1/tcp/4003"}}),
			apitype.NewMailboxView(parley.Mailbox{})},
		"settings": []any{apitype.NewSettingsView(settings), apitype.NewSettingsView(parley.Settings{})},
		"pending_contact": []any{
			apitype.NewPendingContactView(parley.PendingContact{PeerID: "12D3KooWAlice", Name: "Ally", Invite: "parley:SECRET",
				State: parley.ContactPending, AddedAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), LastError: "dial refused"}),
			apitype.NewPendingContactView(parley.PendingContact{PeerID: "12D3KooWBob", State: parley.ContactRefused,
				AddedAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}),
			apitype.NewPendingContactView(parley.PendingContact{}),
		},
	}
}

// TestGolden pins the JSON of every view the API writes: the web app and
// bots read it, so a field renamed or reordered by accident shows here.
// The golden files are indented for reading; the bytes within each value
// are the server's (json.Encoder without HTML escaping). Run with -update
// to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	for name, v := range goldenViews() {
		t.Run(name, func(t *testing.T) {
			var compact bytes.Buffer
			enc := json.NewEncoder(&compact)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, compact.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s changed:\ngot:\n%s\nwant:\n%s", path, got.Bytes(), want)
			}
		})
	}
}
