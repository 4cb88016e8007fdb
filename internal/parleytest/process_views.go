package parleytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A process's view of its conversations, groups and files, through the
// CLI's --json output, failing the test on an error.

// CLIMessage is a message as `parley messages --json` prints it.
type CLIMessage struct {
	ID     string `json:"id"`
	From   string `json:"from"`
	Text   string `json:"text"`
	SentAt string `json:"sent_at"`
	Status string `json:"status"`
}

// CLIFile is a file as `parley file list --json` prints it.
type CLIFile struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	From        string `json:"from"`
	Outgoing    bool   `json:"outgoing"`
	State       string `json:"state"`
	BytesDone   int64  `json:"bytes_done"`
	Path        string `json:"path"`
	Error       string `json:"error"`
	ServedBytes int64  `json:"served_bytes"`
}

// CLIGroup is a group as `parley group list --json` prints it.
type CLIGroup struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	State   string `json:"state"`
	Members int    `json:"members"`
}

// CLIJSON runs `parley args... --json` and decodes its output into v.
func (p *Process) CLIJSON(v any, args ...string) {
	p.t.Helper()
	out := p.CLI(append(args[:len(args):len(args)], "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		p.t.Fatalf("%s: %v --json: %v\n%s", p.Name, args, err, out)
	}
}

// Messages lists the conversation with a contact (which marks it read, as
// viewing does).
func (p *Process) Messages(with string) []CLIMessage {
	p.t.Helper()
	var ms []CLIMessage
	p.CLIJSON(&ms, "messages", with, "--limit", "0")
	return ms
}

// StatusOf is the status of the message with text in p's conversation
// with a contact; "" when there is none.
func (p *Process) StatusOf(with, text string) string {
	p.t.Helper()
	for _, m := range p.Messages(with) {
		if m.Text == text {
			return m.Status
		}
	}
	return ""
}

// Count is how many of ms have text.
func Count(ms []CLIMessage, text string) int {
	n := 0
	for _, m := range ms {
		if m.Text == text {
			n++
		}
	}
	return n
}

// Invite is p's (short) invite code: p must be running when it is added.
func (p *Process) Invite() string {
	p.t.Helper()
	var self struct{ Invite string }
	p.CLIJSON(&self, "id")
	return self.Invite
}

// PeerID is p's peer ID.
func (p *Process) PeerID() string {
	p.t.Helper()
	var self struct {
		PeerID string `json:"peer_id"`
	}
	p.CLIJSON(&self, "id")
	return self.PeerID
}

// GroupTexts is the texts of p's view of a group, in display order.
func (p *Process) GroupTexts(group string) []string {
	p.t.Helper()
	var ms []CLIMessage
	p.CLIJSON(&ms, "group", "messages", group)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

// InvitedTo reports whether p holds an invitation to the group called name.
func (p *Process) InvitedTo(name string) bool {
	p.t.Helper()
	var gs []CLIGroup
	p.CLIJSON(&gs, "group", "invites")
	return slices.ContainsFunc(gs, func(g CLIGroup) bool { return g.Name == name && g.State == "invited" })
}

// Files lists p's files.
func (p *Process) Files() []CLIFile {
	p.t.Helper()
	var fs []CLIFile
	p.CLIJSON(&fs, "file", "list")
	return fs
}

// File is p's record of file id; false when p has none.
func (p *Process) File(id string) (CLIFile, bool) {
	p.t.Helper()
	for _, f := range p.Files() {
		if f.ID == id {
			return f, true
		}
	}
	return CLIFile{}, false
}

// Offer sends a file with --no-wait and returns its ID.
func (p *Process) Offer(to, path string) string {
	p.t.Helper()
	var f CLIFile
	p.CLIJSON(&f, "file", "send", to, path, "--no-wait")
	if len(f.ID) != 32 {
		p.t.Fatalf("file send --no-wait --json: %+v", f)
	}
	return f.ID
}

// LoginURL is a fresh one-time login URL for p's GUI, from `parley open`.
func (p *Process) LoginURL() string {
	p.t.Helper()
	u := strings.TrimSpace(p.CLI("open", "--no-browser"))
	if !strings.Contains(u, "/?login=") {
		p.t.Fatalf("parley open printed %q", u)
	}
	return u
}

// GUIURL is p's GUI address without a login code, from its API file: the
// host name of its own under .localhost where its browsers log in.
func (p *Process) GUIURL() string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, "api.json"))
	if err != nil {
		p.t.Fatal(err)
	}
	var f struct{ GUI string }
	if err := json.Unmarshal(b, &f); err != nil || f.GUI == "" {
		p.t.Fatalf("api.json without a GUI address: %s (%v)", b, err)
	}
	return f.GUI + "/"
}
