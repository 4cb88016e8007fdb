package main

import (
	"io"
	"os"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// progress shows a transfer as it goes: a bar on a terminal, nothing
// elsewhere (scripts get the command's final line only).
type progress interface {
	update(f client.FileView)
	// done ends the display; the command's own output follows.
	done()
}

// newProgress draws on w when w is a terminal.
func newProgress(w io.Writer) progress {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return quiet{}
	}
	return &bar{w: w}
}

type quiet struct{}

func (quiet) update(client.FileView) {}
func (quiet) done()                  {}

// Redraws are at most this often.
const redrawEvery = 100 * time.Millisecond

// bar is one line, redrawn in place by github.com/vbauerster/mpb: the
// file's name and state, the bar, the percentage, bytes, rate and time
// left, fitted to the terminal's width.
//
//	holiday video.mp4 [=====>------]  45 % 90.0 MiB / 200.0 MiB  118.2 MiB/s  1s
type bar struct {
	w     io.Writer
	opts  []mpb.ContainerOption // tests force drawing on a buffer
	p     *mpb.Progress
	b     *mpb.Bar
	label atomic.Value // string: describe's, read by the drawing goroutine
	last  time.Time
}

func (b *bar) update(f client.FileView) {
	now := time.Now()
	b.label.Store(describe(f))
	if b.b == nil {
		b.p = mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(b.w), mpb.WithRefreshRate(redrawEvery)}, b.opts...)...)
		b.b = b.p.New(f.Size, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return b.label.Load().(string) }, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(
				decor.Percentage(decor.WCSyncSpace),
				decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace),
				decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", ewmaAge, decor.WCSyncSpace),
				decor.EwmaETA(decor.ET_STYLE_GO, ewmaAge, decor.WCSyncSpace),
			))
		// Where a resumed transfer starts is not a rate.
		b.b.SetCurrent(f.BytesDone)
	} else {
		b.b.EwmaSetCurrent(f.BytesDone, now.Sub(b.last))
	}
	b.last = now
	switch f.State {
	case parley.FileComplete:
		b.b.SetTotal(-1, true)
	case parley.FileFailed, parley.FileCanceled:
		b.b.Abort(false)
	}
}

// ewmaAge is how many updates the rate and the time left average over.
const ewmaAge = 30

func (b *bar) done() {
	if b.b == nil {
		return
	}
	if !b.b.Completed() {
		b.b.Abort(false)
	}
	b.p.Wait()
}

// describe is the bar's label: the name, and what the transfer waits for
// when it is not moving.
func describe(f client.FileView) string {
	name := truncate(f.Name, 32)
	switch {
	case f.State == parley.FileOffered && f.Outgoing:
		return name + " (waiting to be fetched)"
	case f.State == parley.FileOffered:
		return name + " (waiting)"
	case f.State == parley.FileFailed:
		return name + " (failed: " + f.Error + ")"
	case f.State == parley.FileCanceled:
		return name + " (cancelled)"
	case f.Error != "":
		return name + " (" + f.Error + ")" // "waiting for a direct connection"
	}
	return name
}

// truncate shortens s to n runes, with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
