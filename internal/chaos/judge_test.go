package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// The checker finds each way a history can be broken: these run without
// root, on made-up holdings.
func TestJudge(t *testing.T) {
	dmA := &send{kind: dm, from: 0, to: 1, text: "a", id: "aaaa"}
	grG := &send{kind: groupMsg, from: 2, to: -1, text: "g", id: "gggg"}
	sends := []*send{dmA, grG}
	byText := map[string]*send{"a": dmA, "g": grG}
	good := func() []map[string]*holding {
		return []map[string]*holding{
			{"a": {ids: []string{"aaaa"}, status: parley.StatusDelivered}, "g": {ids: []string{"gggg"}}},
			{"a": {ids: []string{"aaaa"}, status: parley.StatusDelivered}, "g": {ids: []string{"gggg"}}},
			{"g": {ids: []string{"gggg"}, status: parley.StatusDelivered}},
		}
	}
	for _, tc := range []struct {
		name   string
		mangle func(h []map[string]*holding)
		want   string // the verdict's list that must name the break
	}{
		{"all well", func([]map[string]*holding) {}, ""},
		{"lost at the recipient", func(h []map[string]*holding) { delete(h[1], "a") }, "pending"},
		{"lost at a group member", func(h []map[string]*holding) { delete(h[0], "g") }, "pending"},
		{"not delivered in the sender's view", func(h []map[string]*holding) { h[0]["a"].status = parley.StatusQueued }, "pending"},
		{"held twice", func(h []map[string]*holding) { h[1]["a"].ids = []string{"aaaa", "bbbb"} }, "duplicated"},
		{"held under another ID", func(h []map[string]*holding) { h[1]["a"].ids = []string{"bbbb"} }, "invented"},
		{"held by a node it was not for", func(h []map[string]*holding) { h[2]["a"] = &holding{ids: []string{"aaaa"}} }, "invented"},
		{"never sent", func(h []map[string]*holding) { h[1]["x"] = &holding{ids: []string{"xxxx"}} }, "invented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := good()
			tc.mangle(held)
			v := judge(3, sends, byText, held, make([]map[string]apitype.FileView, 3))
			got := map[string][]string{"pending": v.pending, "duplicated": v.duplicated, "invented": v.invented, "files": v.files}
			for list, xs := range got {
				if list == tc.want && len(xs) == 0 {
					t.Errorf("nothing in %s", list)
				}
				if list != tc.want && len(xs) > 0 {
					t.Errorf("%s: %s", list, strings.Join(xs, "; "))
				}
			}
			if tc.want == "" && (!v.converged() || v.delivered != 2) {
				t.Errorf("a good history: %+v", v)
			}
		})
	}
}

// The recorder flags a status going backwards, sent → queued included, and
// a message held twice.
func TestObserve(t *testing.T) {
	msg := func(id byte, text string, st parley.Status) apitype.MessageView {
		return apitype.MessageView{ID: parley.EnvelopeID{id}, Text: text, Outgoing: true, Status: st}
	}
	now := time.Now()
	h := newHistory()
	h.observe(0, now, []apitype.MessageView{msg(1, "a", parley.StatusSent), msg(2, "b", parley.StatusDelivered)})
	h.observe(0, now, []apitype.MessageView{msg(1, "a", parley.StatusQueued), msg(2, "b", parley.StatusDelivered)})
	if len(h.findings) != 1 || !strings.Contains(h.findings[0], "backwards") {
		t.Fatalf("sent → queued: findings %q", h.findings)
	}
	h.observe(0, now, []apitype.MessageView{msg(1, "a", parley.StatusQueued), msg(2, "b", parley.StatusQueued)})
	if len(h.findings) != 2 || !strings.Contains(h.findings[1], "backwards") {
		t.Fatalf("delivered → queued: findings %q", h.findings)
	}
	h.observe(1, now, []apitype.MessageView{msg(3, "c", parley.StatusQueued), msg(4, "c", parley.StatusQueued)})
	if len(h.findings) < 3 || !strings.Contains(h.findings[2], "twice") {
		t.Fatalf("one text under two IDs in a listing: findings %q", h.findings)
	}
	h2 := newHistory()
	h2.observe(1, now, []apitype.MessageView{msg(3, "c", parley.StatusQueued)})
	h2.observe(1, now, []apitype.MessageView{msg(5, "c", parley.StatusQueued)})
	if len(h2.findings) != 1 || !strings.Contains(h2.findings[0], "2 IDs") {
		t.Fatalf("one text under another ID later: findings %q", h2.findings)
	}
}
