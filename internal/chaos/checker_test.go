package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/apitype"
)

// verdict is one check of every node's holdings against the history.
type verdict struct {
	delivered  int      // sends every recipient holds (and, for a DM, whose sender sees it delivered)
	pending    []string // sends some recipient does not hold yet: lost, if it stays so
	duplicated []string // a message held more than once by a node
	invented   []string // a message held that no one sent, or held by a node it was not for
	files      []string // a file held but not complete, or whose bytes differ
}

func (v verdict) converged() bool { return len(v.pending) == 0 && len(v.files) == 0 }

// holding is what one node holds of one message.
type holding struct {
	ids    []string
	status parley.Status
	fileID string
}

// check lists every node's conversations (all must be running) and
// compares them with what was accepted.
func check(ctx context.Context, c *cluster, h *history) (verdict, error) {
	held := make([]map[string]*holding, len(c.nodes)) // node → text → holding
	files := make([]map[string]apitype.FileView, len(c.nodes))
	for _, nd := range c.nodes {
		m := make(map[string]*holding)
		add := func(ms []apitype.MessageView) {
			for _, msg := range ms {
				hd := m[msg.Text]
				if hd == nil {
					hd = &holding{}
					m[msg.Text] = hd
				}
				hd.ids = append(hd.ids, msg.ID.String())
				hd.status, hd.fileID = msg.Status, msg.FileID
			}
		}
		for _, other := range c.nodes {
			if other != nd {
				ms, err := nd.api.messages(ctx, other.name)
				if err != nil {
					return verdict{}, fmt.Errorf("%s: messages with %s: %w", nd.name, other.name, err)
				}
				h.observe(nd.i, time.Now(), ms)
				add(ms)
			}
		}
		ms, err := nd.api.groupMessages(ctx, groupName)
		if err != nil {
			return verdict{}, fmt.Errorf("%s: group messages: %w", nd.name, err)
		}
		h.observe(nd.i, time.Now(), ms)
		add(ms)
		held[nd.i] = m
		fs, err := nd.api.files(ctx)
		if err != nil {
			return verdict{}, fmt.Errorf("%s: files: %w", nd.name, err)
		}
		files[nd.i] = make(map[string]apitype.FileView)
		for _, f := range fs {
			files[nd.i][f.ID] = f
		}
	}

	h.mu.Lock()
	sends := slices.Clone(h.sends)
	byText := maps.Clone(h.byText)
	h.mu.Unlock()
	return judge(len(c.nodes), sends, byText, held, files), nil
}

// judge compares what each node holds (held: node → text → holding, and
// its files by ID) with what was accepted.
func judge(n int, sends []*send, byText map[string]*send, held []map[string]*holding, files []map[string]apitype.FileView) verdict {
	var v verdict
	name := func(i int) string { return fmt.Sprintf("n%02d", i) }
	for _, s := range sends {
		ok := true
		for _, r := range s.recipients(n) {
			hd := held[r][s.text]
			switch {
			case hd == nil && s.maybe:
			case hd == nil:
				v.pending = append(v.pending, fmt.Sprintf("%s %q not held by %s", s.kind, s.text, name(r)))
				ok = false
			case len(hd.ids) > 1:
				v.duplicated = append(v.duplicated, fmt.Sprintf("%s holds %q %d times", name(r), s.text, len(hd.ids)))
			case s.kind != file && hd.ids[0] != s.id:
				v.invented = append(v.invented, fmt.Sprintf("%s holds %q as %s; accepted as %s", name(r), s.text, short(hd.ids[0]), short(s.id)))
			case s.kind == dm && r == s.from && hd.status != parley.StatusDelivered && hd.status != parley.StatusRead:
				v.pending = append(v.pending, fmt.Sprintf("dm %q is %s at its sender", s.text, hd.status))
				ok = false
			case s.kind == file && r == s.to:
				if msg := fileProblem(files[r][hd.fileID], s); msg != "" {
					v.files = append(v.files, fmt.Sprintf("%s: %s", name(r), msg))
					ok = false
				}
			}
		}
		if ok {
			v.delivered++
		}
	}
	for i, m := range held {
		for text := range m {
			s := byText[text]
			if s == nil || !slices.Contains(s.recipients(n), i) {
				v.invented = append(v.invented, fmt.Sprintf("%s holds %q, never sent to it", name(i), text))
			}
		}
	}
	return v
}

// fileProblem says what is wrong with a received file, "" if nothing.
func fileProblem(f apitype.FileView, s *send) string {
	if f.State != parley.FileComplete {
		return fmt.Sprintf("file %s is %s (%d of %d bytes) %s", s.text, f.State, f.BytesDone, f.Size, f.Error)
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return err.Error()
	}
	defer fh.Close()
	sum := sha256.New()
	io.Copy(sum, fh)
	if hex.EncodeToString(sum.Sum(nil)) != s.hash {
		return fmt.Sprintf("file %s at %s differs from what was sent", s.text, f.Path)
	}
	return ""
}

// converge checks until every accepted message has arrived or the
// deadline passes, and returns the last verdict and how long it took.
func converge(ctx context.Context, c *cluster, h *history, limit time.Duration) (verdict, time.Duration, error) {
	start := time.Now()
	for {
		v, err := check(ctx, c, h)
		if err == nil && v.converged() || time.Since(start) > limit {
			return v, time.Since(start), err
		}
		time.Sleep(time.Second)
	}
}

func firstFew(xs []string, n int) string {
	if len(xs) > n {
		return strings.Join(xs[:n], "\n") + fmt.Sprintf("\n… and %d more", len(xs)-n)
	}
	return strings.Join(xs, "\n")
}
