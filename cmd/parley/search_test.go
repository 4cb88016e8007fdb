package main

import (
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// cliSearch is what `parley search --json` shows.
type cliSearch struct {
	Indexing bool `json:"indexing"`
	Results  []struct {
		Conversation     string `json:"conversation"`
		ConversationName string `json:"conversation_name"`
		Snippet          string `json:"snippet"`
		Highlights       [][2]int
		Message          struct {
			ID       string `json:"id"`
			From     string `json:"from"`
			FromName string `json:"from_name"`
			Text     string `json:"text"`
		} `json:"message"`
	} `json:"results"`
}

// TestSearchFromTheCLI: bob finds alice's message by a word and by the
// start of one, in text and --json, across conversations or in one, and
// after a restart; an edit changes what is found.
func TestSearchFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	var sent parleytest.CLIMessage
	alice.CLIJSON(&sent, "send", "bob", "Meeting at the Café Müller tomorrow")
	parleytest.Eventually(t, "bob holding it", func() bool { return len(bob.Messages("alice")) == 1 })

	var found cliSearch
	bob.CLIJSON(&found, "search", "cafe", "mull")
	if len(found.Results) != 1 {
		t.Fatalf("search --json: %+v", found)
	}
	r := found.Results[0]
	if r.Message.ID != sent.ID || r.ConversationName != "alice" || r.Message.From != alice.PeerID() ||
		r.Snippet != sent.Text || len(r.Highlights) != 2 {
		t.Errorf("search --json result: %+v", r)
	}
	out := bob.CLI("search", "meeting", "--conv", "alice")
	if !strings.Contains(out, "[Meeting] at the Café Müller") || !strings.Contains(out, sent.ID[:12]) {
		t.Errorf("search text output:\n%s", out)
	}
	if out := bob.CLI("search", "nowhere"); !strings.Contains(out, "No messages found.") {
		t.Errorf("search for nothing:\n%s", out)
	}

	alice.CLI("edit", "bob", sent.ID[:8], "Meeting at the station tomorrow")
	parleytest.Eventually(t, "the edit changing what bob finds", func() bool {
		var f cliSearch
		bob.CLIJSON(&f, "search", "station")
		return len(f.Results) == 1
	})
	bob.CLIJSON(&found, "search", "cafe")
	if len(found.Results) != 0 {
		t.Errorf("the replaced text is still found: %+v", found)
	}
	bob.Stop()
	bob.Start()
	bob.CLIJSON(&found, "search", "stat")
	if len(found.Results) != 1 {
		t.Errorf("after a restart: %+v", found)
	}
}
