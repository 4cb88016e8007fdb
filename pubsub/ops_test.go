package pubsub

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// Group names are trimmed and checked here alone: the API and the CLI pass
// them on as typed.
func TestCheckGroupName(t *testing.T) {
	long := strings.Repeat("x", identity.MaxCardName)
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"team", "team"},
		{"  team\t\n", "team"},
		{"two words", "two words"},
		{long, long},
		{" " + long + " ", long},
		{"", ""},
		{" \t\n ", ""},
		{long + "x", ""},
		{"bad\x00name", ""},
		{"line\nbreak", ""},
		{"\xff", ""},
	} {
		got, err := checkGroupName(tc.in)
		switch {
		case tc.want == "" && !errors.Is(err, parley.ErrMalformed):
			t.Errorf("checkGroupName(%q) = %q, %v; want ErrMalformed", tc.in, got, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("checkGroupName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	tn := newTestNet()
	alice := tn.start(t, "alice")
	g, err := alice.groups.Create("  padded  ")
	if err != nil || g.Name != "padded" {
		t.Fatalf("Create with spaces: %+v, %v", g, err)
	}
	if g, err = alice.groups.Rename(g.ID, "\trenamed "); err != nil || g.Name != "renamed" {
		t.Fatalf("Rename with spaces: %+v, %v", g, err)
	}
	if _, err := alice.groups.Rename(g.ID, "   "); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("Rename to blank: %v, want ErrMalformed", err)
	}
}

// A removed member holds no key for what is sent after the removal, and
// its store never gets it.
func TestRemovedMemberCannotRead(t *testing.T) {
	tn := newTestNet()
	alice, bob, carol := tn.start(t, "alice"), tn.start(t, "bob"), tn.start(t, "carol")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)
	invite(t, alice, carol, g.ID)
	connect(t, alice.host, bob.host)
	connect(t, alice.host, carol.host)
	connect(t, bob.host, carol.host)
	meshed(t, g.ID, alice, bob)
	if err := alice.groups.Remove(g.ID, carol.host.ID()); err != nil {
		t.Fatal(err)
	}
	after, err := alice.groups.Send(g.ID, "carol is gone", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	env, err := alice.store.Envelope(after.ID)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := identity.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	// Carol learns of the removal by sync (the op is sealed under the old
	// key, which she has); she holds no key for the new epoch.
	ops, _ := alice.store.GroupOps(g.ID)
	var envs [][]byte
	for _, o := range ops {
		envs = append(envs, o.Envelope)
	}
	envs = append(envs, env)
	_, rejected, err := carol.groups.Ingest(g.ID, envs)
	if err != nil {
		t.Fatal(err)
	}
	if rejected != 1 {
		t.Fatalf("carol's store took the post-removal message (%d rejected)", rejected)
	}
	keys, _ := carol.store.GroupKeys(g.ID)
	for _, k := range keys {
		if _, err := identity.OpenEnvelope(parsed, &identity.SendKey{ID: k.ID, Key: k.Key}); err == nil {
			t.Fatal("carol opened a message sent after her removal")
		}
	}
	// The removal may also reach her on the topic, where the validator
	// applies it just after storing it: wait for it either way.
	eventually(t, "carol seeing her removal", func() bool {
		v, _ := carol.groups.View(g.ID)
		return v.State == parley.GroupRemoved
	})
	if _, err := carol.groups.Send(g.ID, "still here?", parley.ClientID{}); err == nil {
		t.Fatal("a removed member could still send")
	}
	eventually(t, "bob reading it", func() bool {
		ts := texts(t, bob, g.ID)
		return len(ts) == 1 && ts[0] == "carol is gone"
	})
}

// One admin adds a member while another starts a new epoch it has not
// heard of: the newcomer still gets the new epoch's key, from the admin
// who made it, once that admin learns of the add.
func TestAddConcurrentWithRekeyGetsTheNewKey(t *testing.T) {
	tn := newTestNet()
	alice, bob, carol, dave := tn.start(t, "alice"), tn.start(t, "bob"), tn.start(t, "carol"), tn.start(t, "dave")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)
	if _, err := alice.groups.SetRole(g.ID, bob.host.ID(), parley.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	invite(t, alice, carol, g.ID)
	syncOps(t, alice, bob, g.ID)

	// Concurrently: alice adds dave (handing him the keys she holds), bob
	// removes carol and rekeys, telling the members he knows of.
	invite(t, alice, dave, g.ID)
	if err := bob.groups.Remove(g.ID, carol.host.ID()); err != nil {
		t.Fatal(err)
	}
	bob.groups.mu.Lock()
	gb := bob.groups.groups[g.ID]
	bob.groups.mu.Unlock()
	gb.mu.Lock()
	newKey := gb.current.ID
	gb.mu.Unlock()
	if hasKey(t, dave, g.ID, newKey) {
		t.Fatal("the test is broken: dave got the new key directly")
	}
	// Bob learns of dave's add; dave learns of bob's removal of carol.
	syncOps(t, alice, bob, g.ID)
	syncOps(t, bob, dave, g.ID)
	if !hasKey(t, dave, g.ID, newKey) {
		t.Fatal("dave never got the key of the epoch that began as he was added")
	}
	if hasKey(t, carol, g.ID, newKey) {
		t.Fatal("carol got the key of the epoch that removed her")
	}
}

// A member who has seen someone removed but not yet the new epoch's key
// does not write under the old key, which the removed member holds: the
// send waits for the key, and is refused if it does not come.
func TestNoSendUnderAKeyTheDepartedHold(t *testing.T) {
	tn := newTestNet()
	alice, bob, carol := tn.start(t, "alice"), tn.start(t, "bob"), tn.start(t, "carol")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)
	invite(t, alice, carol, g.ID)

	type handover struct {
		from peer.ID
		keys *pb.GroupKeys
	}
	held := make(chan handover, 4)
	tn.mu.Lock()
	tn.intercept = func(from peer.ID, to *member, keys *pb.GroupKeys) bool {
		if to != bob {
			return false
		}
		held <- handover{from, keys}
		return true
	}
	tn.mu.Unlock()
	if err := alice.groups.Remove(g.ID, carol.host.ID()); err != nil {
		t.Fatal(err)
	}
	syncOps(t, alice, bob, g.ID) // bob sees the removal; the new key is held back

	defer func(d time.Duration) { RekeyWait = d }(RekeyWait)
	RekeyWait = 200 * time.Millisecond
	if _, err := bob.groups.Send(g.ID, "just us now", parley.ClientID{}); !errors.Is(err, parley.ErrRekeying) {
		t.Fatalf("bob's send before the new key came: %v, want ErrRekeying", err)
	}
	if ts := texts(t, bob, g.ID); len(ts) != 0 {
		t.Fatalf("a refused send was stored: %q", ts)
	}

	// The key arrives while a send waits: the send goes, under it.
	RekeyWait = time.Minute
	go func() {
		h := <-held
		if err := bob.groups.OnGroupKeys(h.from, h.keys); err != nil {
			t.Error(err)
		}
	}()
	sent, err := bob.groups.Send(g.ID, "just us now", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	env, err := bob.store.Envelope(sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := identity.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := carol.store.GroupKeys(g.ID)
	for _, k := range keys {
		if _, err := identity.OpenEnvelope(parsed, &identity.SendKey{ID: k.ID, Key: k.Key}); err == nil {
			t.Fatal("carol can open what bob wrote after her removal")
		}
	}
}
