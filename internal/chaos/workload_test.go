package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// workload sends DMs between random pairs, group messages and small files
// through the nodes' APIs, and records in the history every send the API
// accepted. A send whose answer is lost (the node was killed mid-request)
// is retried with the same client ID until a node answers: the node
// stores a client ID's message once, so the send ends accepted exactly
// once, or refused.
type workload struct {
	c       *cluster
	h       *history
	tag     string // in every text: this run's
	fileDir string
	seq     atomic.Int64
	// pace is the pause between one worker's sends.
	pace time.Duration
	// retryFor bounds a retry of an unknown outcome during the run; the
	// rest are resolved (retried again) once the nemesis has healed all.
	retryFor time.Duration

	mu         sync.Mutex
	unresolved []func(context.Context) // guarded by mu
}

// run runs workers until ctx ends, each with its own random source.
func (w *workload) run(ctx context.Context, workers int, seed uint64) {
	var wg sync.WaitGroup
	for k := range workers {
		rng := rand.New(rand.NewPCG(seed, uint64(k)+1))
		wg.Go(func() {
			for ctx.Err() == nil {
				w.one(ctx, rng)
				select {
				case <-ctx.Done():
				case <-time.After(w.pace/2 + time.Duration(rng.Int64N(int64(w.pace)))):
				}
			}
		})
	}
	wg.Wait()
}

// one sends one message of a random kind from a random node.
func (w *workload) one(ctx context.Context, rng *rand.Rand) {
	n := len(w.c.nodes)
	from := rng.IntN(n)
	to := (from + 1 + rng.IntN(n-1)) % n
	seq := w.seq.Add(1)
	clientID := hexRand(rng, 16)
	switch r := rng.IntN(100); {
	case r < 60:
		text := fmt.Sprintf("%s %d dm %s→%s", w.tag, seq, w.c.nodes[from].name, w.c.nodes[to].name)
		w.message(ctx, &send{kind: dm, from: from, to: to, text: text, clientID: clientID})
	case r < 92:
		text := fmt.Sprintf("%s %d group from %s", w.tag, seq, w.c.nodes[from].name)
		w.message(ctx, &send{kind: groupMsg, from: from, to: -1, text: text, clientID: clientID})
	default:
		w.file(ctx, rng, &send{kind: file, from: from, to: to, text: fmt.Sprintf("%s-%d.bin", w.tag, seq)})
	}
}

// errDownWhileRetrying: a send whose first answer was lost found no node
// when retried; its outcome is still unknown.
var errDownWhileRetrying = errors.New("node down while retrying")

// try sends s once.
func (w *workload) try(ctx context.Context, s *send) (string, error) {
	nd := w.c.nodes[s.from]
	if s.kind == dm {
		m, err := nd.api.send(ctx, w.c.nodes[s.to].name, s.text, s.clientID)
		return m.ID.String(), err
	}
	m, err := nd.api.groupSend(ctx, groupName, s.text, s.clientID)
	return m.ID.String(), err
}

// message sends a DM or group message, retrying an unknown outcome.
func (w *workload) message(ctx context.Context, s *send) {
	id, err := w.try(ctx, s)
	if errors.Is(err, errDown) {
		w.h.refuse("sender down")
		return
	}
	deadline := time.Now().Add(w.retryFor)
	for unknownOutcome(err) && ctx.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		id, err = w.try(ctx, s)
		if errors.Is(err, errDown) {
			err = errDownWhileRetrying // the first try may have stored it: keep trying
		}
	}
	w.settle(s, id, err, func(ctx context.Context) { w.resolve(ctx, s) })
}

// settle records s as accepted, refused, or (outcome still unknown) to be
// resolved after the heal.
func (w *workload) settle(s *send, id string, err error, later func(context.Context)) {
	switch {
	case err == nil:
		s.id, s.at = id, time.Now()
		w.h.accepted(s)
	case unknownOutcome(err):
		w.mu.Lock()
		w.unresolved = append(w.unresolved, later)
		w.mu.Unlock()
	default:
		w.h.refuse(err.Error())
	}
}

// resolve retries s with its client ID, every node up, until it is
// settled one way or the other.
func (w *workload) resolve(ctx context.Context, s *send) {
	for {
		id, err := w.try(ctx, s)
		if !unknownOutcome(err) && !errors.Is(err, errDown) || ctx.Err() != nil {
			if err == nil {
				s.id, s.at = id, time.Now()
				w.h.accepted(s)
			} else {
				w.h.refuse("after the heal: " + err.Error())
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// resolveAll settles every send whose outcome is still unknown.
func (w *workload) resolveAll(ctx context.Context) int {
	w.mu.Lock()
	todo := w.unresolved
	w.unresolved = nil
	w.mu.Unlock()
	for _, f := range todo {
		f(ctx)
	}
	return len(todo)
}

// file offers a small file of random bytes. An offer has no client ID: one
// whose answer is lost is recorded as maybe sent (it must then be held
// complete, once, or not at all).
func (w *workload) file(ctx context.Context, rng *rand.Rand, s *send) {
	b := make([]byte, 4<<10+rng.IntN(60<<10))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	path := filepath.Join(w.fileDir, s.text)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		w.h.refuse("write file: " + err.Error())
		return
	}
	sum := sha256.Sum256(b)
	s.hash = hex.EncodeToString(sum[:])
	f, err := w.c.nodes[s.from].api.sendFile(ctx, w.c.nodes[s.to].name, path)
	switch {
	case err == nil:
		s.id, s.at = f.ID, time.Now()
		w.h.accepted(s)
	case unknownOutcome(err):
		s.maybe, s.at = true, time.Now()
		w.h.accepted(s)
	case errors.Is(err, errDown):
		w.h.refuse("sender down")
	default:
		w.h.refuse(err.Error())
	}
}

func hexRand(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b)
}

func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }
