package pubsub

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// testPeers are deterministic peer IDs (Ed25519 keys from fixed seeds).
func testPeers(t testing.TB, n int) []peer.ID {
	t.Helper()
	out := make([]peer.ID, n)
	for i := range out {
		seed := sha256.Sum256(fmt.Appendf(nil, "peer %d", i))
		_, pub, err := crypto.GenerateEd25519Key(rngReader{rand.NewChaCha8(seed)})
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type rngReader struct{ r *rand.ChaCha8 }

func (r rngReader) Read(b []byte) (int, error) { return r.r.Read(b) }

// opMaker builds ops of one group with unique IDs.
type opMaker struct {
	group parley.ConversationID
	nonce []byte
	n     int
}

func newOpMaker(creator peer.ID) *opMaker {
	nonce := make([]byte, 32)
	return &opMaker{group: identity.GroupIDOf(creator, nonce), nonce: nonce}
}

func (m *opMaker) op(author peer.ID, hlc parley.HLC, body *pb.GroupOp) Op {
	m.n++
	return Op{ID: sha256.Sum256(fmt.Appendf(nil, "op %d", m.n)), Author: author, HLC: hlc, Body: body}
}

func (m *opMaker) create(author peer.ID, hlc parley.HLC) Op {
	return m.op(author, hlc, &pb.GroupOp{Type: pb.GroupOp_TYPE_CREATE, Name: "g", Nonce: m.nonce, MemberName: "creator"})
}

func (m *opMaker) add(author, member peer.ID, hlc parley.HLC, role pb.GroupOp_Role) Op {
	return m.op(author, hlc, &pb.GroupOp{Type: pb.GroupOp_TYPE_ADD, Member: []byte(member), Role: role, MemberName: "m"})
}

func (m *opMaker) remove(author, member peer.ID, hlc parley.HLC) Op {
	return m.op(author, hlc, &pb.GroupOp{Type: pb.GroupOp_TYPE_REMOVE, Member: []byte(member)})
}

func (m *opMaker) leave(author peer.ID, hlc parley.HLC) Op {
	return m.op(author, hlc, &pb.GroupOp{Type: pb.GroupOp_TYPE_LEAVE})
}

func members(s *State) map[peer.ID]parley.Role {
	out := make(map[peer.ID]parley.Role)
	for p, m := range s.Members {
		out[p] = m.Role
	}
	return out
}

func TestReplayRules(t *testing.T) {
	p := testPeers(t, 5)
	a, b, c, d, e := p[0], p[1], p[2], p[3], p[4]
	m := newOpMaker(a)
	ops := []Op{
		m.create(a, 10),
		m.add(a, b, 20, pb.GroupOp_ROLE_MEMBER),
		m.add(b, c, 30, pb.GroupOp_ROLE_MEMBER), // b is no admin: skipped
		m.add(a, c, 40, pb.GroupOp_ROLE_ADMIN),
		m.remove(b, a, 50), // not an admin: skipped
		m.add(c, d, 60, pb.GroupOp_ROLE_MEMBER),
		m.leave(d, 70),
		m.remove(c, b, 80),
		m.add(e, e, 90, pb.GroupOp_ROLE_ADMIN), // never a member: skipped
		m.create(b, 5),                         // not the creator the ID commits to: skipped
	}
	s := Replay(m.group, ops)
	want := map[peer.ID]parley.Role{a: parley.RoleAdmin, c: parley.RoleAdmin}
	if got := members(s); !sameMembers(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	if s.Creator != a || !s.Created {
		t.Fatalf("creator %v", s.Creator)
	}
	// b wrote while a member and not after removal.
	if !s.WasMember(b, 25) || s.WasMember(b, 80) || s.WasMember(b, 15) {
		t.Fatal("b's membership span is wrong")
	}
	if !s.WasMember(d, 65) || s.WasMember(d, 70) {
		t.Fatal("d's membership span is wrong")
	}
	if s.EverMember(e) {
		t.Fatal("e was never a member")
	}
	// Re-adding a removed member works.
	s = Replay(m.group, append(ops, m.add(a, b, 100, pb.GroupOp_ROLE_MEMBER)))
	if !s.IsMember(b) || !s.WasMember(b, 25) || s.WasMember(b, 90) || !s.WasMember(b, 100) {
		t.Fatal("re-adding b")
	}
	// Nothing counts before the CREATE.
	if s := Replay(m.group, ops[1:]); s.Created || len(s.Members) != 0 {
		t.Fatalf("state without create: %+v", s)
	}
}

func sameMembers(a, b map[peer.ID]parley.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Two admins remove each other concurrently: the earlier op wins, on every
// replay order.
func TestReplayConcurrentAdminsConverge(t *testing.T) {
	p := testPeers(t, 4)
	a, b, c, d := p[0], p[1], p[2], p[3]
	m := newOpMaker(a)
	ops := []Op{
		m.create(a, 10),
		m.add(a, b, 20, pb.GroupOp_ROLE_ADMIN),
		m.add(a, c, 30, pb.GroupOp_ROLE_MEMBER),
		// Concurrent: a removes b, b removes a and adds d, at the same HLC.
		m.remove(a, b, 40),
		m.remove(b, a, 40),
		m.add(b, d, 41, pb.GroupOp_ROLE_MEMBER),
	}
	want := members(Replay(m.group, ops))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		shuffled := slices.Clone(ops)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := members(Replay(m.group, shuffled)); !sameMembers(got, want) {
			t.Fatalf("order-dependent result: %v vs %v", got, want)
		}
	}
	// Whichever op sorts first at HLC 40 (by ID) decides; the other's
	// author is out, so b's add of d counts only if b won.
	if len(want) != 2 && len(want) != 3 {
		t.Fatalf("members %v", want)
	}
}

// FuzzReplayConverges builds ops from fuzz input and checks that every order
// of them replays to the same membership.
func FuzzReplayConverges(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{1, 1, 1, 2, 2, 2, 3, 3, 3})
	peers := testPeers(f, 4)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 300 {
			return
		}
		m := newOpMaker(peers[0])
		ops := []Op{m.create(peers[0], 1)}
		for i := 0; i+2 < len(data); i += 3 {
			author, target := peers[int(data[i])%4], peers[int(data[i+1])%4]
			hlc := parley.HLC(data[i+2] % 16)
			switch data[i] / 4 % 5 {
			case 0:
				ops = append(ops, m.add(author, target, hlc, pb.GroupOp_ROLE_MEMBER))
			case 1:
				ops = append(ops, m.add(author, target, hlc, pb.GroupOp_ROLE_ADMIN))
			case 2:
				ops = append(ops, m.remove(author, target, hlc))
			case 3:
				ops = append(ops, m.leave(author, hlc))
			case 4:
				ops = append(ops, m.op(author, hlc, &pb.GroupOp{Type: pb.GroupOp_TYPE_ROLE, Member: []byte(target), Role: pb.GroupOp_ROLE_ADMIN}))
			}
		}
		want := members(Replay(m.group, ops))
		reversed := slices.Clone(ops)
		slices.Reverse(reversed)
		if got := members(Replay(m.group, reversed)); !sameMembers(got, want) {
			t.Fatalf("order-dependent result: %v vs %v", got, want)
		}
	})
}

// The history setting: shared for groups created before it existed,
// changed by admins only, and what two members share follows from it and
// from their membership intervals.
func TestReplayHistory(t *testing.T) {
	p := testPeers(t, 3)
	alice, bob, carol := p[0], p[1], p[2]
	m := newOpMaker(alice)
	create := m.create(alice, 10)
	if s := Replay(m.group, []Op{create}); s.History != parley.HistoryShared {
		t.Fatalf("a CREATE without the setting: history %q, want shared", s.History)
	}
	settings := func(author peer.ID, hlc parley.HLC, h pb.GroupOp_History) Op {
		return m.op(author, hlc, &pb.GroupOp{Type: pb.GroupOp_TYPE_SETTINGS, History: h})
	}
	ops := []Op{
		create,
		settings(alice, 11, pb.GroupOp_HISTORY_HIDDEN),
		m.add(alice, bob, 20, pb.GroupOp_ROLE_MEMBER),
		m.add(alice, carol, 30, pb.GroupOp_ROLE_MEMBER),
		settings(bob, 31, pb.GroupOp_HISTORY_SHARED), // not an admin: skipped
		m.remove(alice, carol, 40),
		m.add(alice, carol, 50, pb.GroupOp_ROLE_MEMBER),
	}
	s := Replay(m.group, ops)
	if s.History != parley.HistoryHidden {
		t.Fatalf("history %q after a member's SETTINGS, want hidden", s.History)
	}
	for _, c := range []struct {
		a, b peer.ID
		hlc  parley.HLC
		want bool
	}{
		{alice, bob, 15, false},   // before bob joined
		{alice, bob, 25, true},    // both members
		{bob, carol, 25, false},   // before carol joined
		{bob, carol, 35, true},    // carol's first interval
		{bob, carol, 45, false},   // carol removed
		{carol, alice, 55, true},  // carol back
		{carol, carol, 45, false}, // not even to herself
	} {
		if got := s.SharedWith(c.a, c.b, c.hlc); got != c.want {
			t.Errorf("SharedWith(%s, %s, %d) = %v, want %v", c.a, c.b, c.hlc, got, c.want)
		}
	}
	if s := Replay(m.group, append(ops, settings(alice, 60, pb.GroupOp_HISTORY_SHARED))); s.History != parley.HistoryShared || !s.SharedWith(bob, carol, 45) {
		t.Fatalf("an admin sharing the history: %q", s.History)
	}
}
