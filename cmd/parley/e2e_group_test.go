package main

import (
	"encoding/json"
	"slices"
	"testing"
)

type jsonGroup struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	State   string `json:"state"`
	Members int    `json:"members"`
}

type jsonMember struct {
	PeerID string `json:"peer_id"`
	Role   string `json:"role"`
	Self   bool   `json:"self"`
}

func (p *proc) groupJSON(v any, args ...string) {
	p.t.Helper()
	out := p.cli(append(append([]string{"group"}, args...), "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		p.t.Fatalf("%s: group %v --json: %v\n%s", p.name, args, err, out)
	}
}

func (p *proc) groupTexts(group string) []string {
	p.t.Helper()
	var ms []jsonMessage
	p.groupJSON(&ms, "messages", group)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func (p *proc) invitedTo(name string) bool {
	var gs []jsonGroup
	p.groupJSON(&gs, "invites")
	return slices.ContainsFunc(gs, func(g jsonGroup) bool { return g.Name == name && g.State == "invited" })
}

// The "done when", from the CLI: three users create a group and
// chat, one is removed, the others keep chatting, and a fourth joins later
// and reads the history.
func TestGroupsFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob, carol := startProc(t, "alice"), startProc(t, "bob"), startProc(t, "carol")
	for _, p := range []*proc{bob, carol} {
		alice.cli("contact", "add", p.invite(), "--name", p.name)
		p.cli("contact", "add", alice.invite(), "--name", "alice")
	}
	var created jsonGroup
	alice.groupJSON(&created, "create", "friends")
	if created.Name != "friends" || len(created.ID) != 64 {
		t.Fatalf("group create --json: %+v", created)
	}
	alice.cli("group", "invite", "friends", "bob")
	alice.cli("group", "invite", created.ID, "carol")
	for _, p := range []*proc{bob, carol} {
		waitUntil(t, p.name+" seeing the invite", func() bool { return p.invitedTo("friends") })
		p.cli("group", "accept", "friends")
	}
	alice.cli("group", "send", "friends", "hello everyone")
	bob.cli("group", "send", "friends", "hi from bob")
	carol.cli("group", "send", "friends", "hi from carol")
	for _, p := range []*proc{alice, bob, carol} {
		waitUntil(t, p.name+" holding the three messages", func() bool { return len(p.groupTexts("friends")) == 3 })
	}
	want := alice.groupTexts("friends")
	for _, p := range []*proc{bob, carol} {
		if got := p.groupTexts("friends"); !slices.Equal(got, want) {
			t.Fatalf("%s holds %q, alice %q", p.name, got, want)
		}
	}

	alice.cli("group", "rename", "friends", "old friends")
	alice.cli("group", "role", "old friends", "bob", "admin")
	waitUntil(t, "bob seeing the new name and his new role", func() bool {
		var ms []jsonMember
		bob.groupJSON(&ms, "members", "old friends")
		return slices.ContainsFunc(ms, func(m jsonMember) bool { return m.Self && m.Role == "admin" })
	})
	bob.cli("group", "rename", "old friends", "friends")
	waitUntil(t, "alice seeing bob's rename", func() bool {
		var gs []jsonGroup
		alice.groupJSON(&gs, "list")
		return len(gs) == 1 && gs[0].Name == "friends"
	})
	alice.cli("group", "remove", "friends", "carol")
	waitUntil(t, "bob seeing two members", func() bool {
		var ms []struct {
			PeerID string `json:"peer_id"`
		}
		bob.groupJSON(&ms, "members", "friends")
		return len(ms) == 2
	})
	alice.cli("group", "send", "friends", "carol has left us")
	waitUntil(t, "bob reading it", func() bool { return len(bob.groupTexts("friends")) == 4 })
	if out, code := carol.try("group", "send", "friends", "am I still in?"); code == 0 {
		t.Fatalf("a removed member could send: %s", out)
	}

	dave := startProc(t, "dave")
	alice.cli("contact", "add", dave.invite(), "--name", "dave")
	dave.cli("contact", "add", alice.invite(), "--name", "alice")
	alice.cli("group", "invite", "friends", "dave")
	waitUntil(t, "dave seeing the invite", func() bool { return dave.invitedTo("friends") })
	dave.cli("group", "accept", "friends")
	waitUntil(t, "dave reading the history", func() bool { return len(dave.groupTexts("friends")) == 4 })
	if got := carol.groupTexts("friends"); len(got) != 3 {
		t.Fatalf("carol holds %q after her removal", got)
	}
	var groups []jsonGroup
	carol.groupJSON(&groups, "list")
	if len(groups) != 1 || groups[0].State != "removed" {
		t.Fatalf("carol's groups: %+v", groups)
	}
}
