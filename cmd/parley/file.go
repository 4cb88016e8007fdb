package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/node/files"
)

// fileArgHelp says what the file commands' arguments are, for their Long
// help.
const fileArgHelp = `ID is a file's ID as "parley file list" shows it, or enough of its start to
be unique. Files from contacts up to the auto-accept size (see "parley
settings") arrive without asking; larger ones wait for "parley file get".`

// pollEvery is how often a waiting command asks for a file's progress, on
// top of the events: an upload's progress has no events of its own.
const pollEvery = 500 * time.Millisecond

func newFileCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "file",
		Short: "Send files, list them, fetch and cancel them",
		Long: `Send files to a contact or a group, list the files offered by you and to
you, fetch them and cancel them. Files go straight to the other side,
encrypted end to end, and a transfer resumes where it stopped.

` + fileArgHelp,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("file needs a subcommand: send, list, get or cancel")}
		},
	}
	cmd.AddCommand(newFileSendCmd(g), newFileListCmd(g), newFileGetCmd(g), newFileCancelCmd(g))
	return cmd
}

func newFileSendCmd(g *globals) *cobra.Command {
	var noWait, asJSON bool
	cmd := &cobra.Command{
		Use:   "send CONTACT|GROUP PATH",
		Short: "Offer a file to a contact or a group, and follow it until it has been sent",
		Long: `Offer a file to a contact or a group (a name, a peer ID or a group ID).
On a terminal a progress bar follows it until every byte has been sent
(the other side then verifies it and files it away); --no-wait returns
once the offer is made. Either way the file
stays offered, and served from where it is, until it is cancelled: do not
move or change it meanwhile.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[1])
			if err != nil {
				return err
			}
			return g.follow(cmd, func(ctx context.Context, c *client.Client) error {
				f, err := call(ctx, func(ctx context.Context) (client.FileView, error) { return c.SendFile(ctx, args[0], path) })
				if err != nil {
					return err
				}
				if !noWait {
					f, err = waitFile(ctx, c, f, newProgress(cmd.ErrOrStderr()))
					if err != nil {
						return err
					}
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), f)
				}
				verb := "Sent"
				if f.State != parley.FileComplete {
					verb = "Offered"
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s) to %s; file ID %s\n", verb, f.Name, humanBytes(f.Size), args[0], f.ID)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the offer is made")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func newFileListCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "list",
		Short: "List the files offered by you and to you, newest first",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.FileView, error) {
		return c.Files(ctx)
	}, printFiles)
}

func newFileGetCmd(g *globals) *cobra.Command {
	var noWait, asJSON bool
	var out string
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Fetch a file offered to you, wait for it and print where it is",
		Long: `Fetch a file offered to you (or try again after a failure), follow it
with a progress bar on a terminal, and print the path of the verified file
in your downloads folder. --no-wait returns at once; the transfer goes on
in your node either way, also across restarts.

--out DIR also puts the finished file in DIR (a hard link where DIR is on
the same disk, else a copy), never over an existing file: " (1)", " (2)"...
is added to a name that is taken. The downloads folder keeps its copy:
Parley serves it to the members of a group from there.

` + fileArgHelp,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" {
				if st, err := os.Stat(out); err != nil || !st.IsDir() {
					return usageError{fmt.Errorf("--out %s is not a folder", out)}
				}
				if noWait {
					return usageError{errors.New("--out needs the file: it cannot go with --no-wait")}
				}
			}
			return g.follow(cmd, func(ctx context.Context, c *client.Client) error {
				id, err := call(ctx, func(ctx context.Context) (string, error) { return resolveFileID(ctx, c, args[0]) })
				if err != nil {
					return err
				}
				f, err := call(ctx, func(ctx context.Context) (client.FileView, error) { return c.AcceptFile(ctx, id) })
				if err != nil {
					return err
				}
				if !noWait {
					f, err = waitFile(ctx, c, f, newProgress(cmd.ErrOrStderr()))
					if err != nil {
						return err
					}
				}
				if out != "" {
					if f.Path, err = placeCopy(f.Path, f.Name, out); err != nil {
						return fmt.Errorf("%s arrived in %s, but not into %s: %w", f.Name, f.Path, out, err)
					}
				}
				switch {
				case asJSON:
					return printJSON(cmd.OutOrStdout(), f)
				case f.State != parley.FileComplete:
					_, err = fmt.Fprintf(cmd.OutOrStdout(), "Fetching %s (%s) from %s; follow it with: parley file list\n",
						f.Name, humanBytes(f.Size), nameOr(f.FromName, f.From))
				default:
					_, err = fmt.Fprintln(cmd.OutOrStdout(), f.Path)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "also put the finished file in folder `DIR`")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "start the transfer and return")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func newFileCancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a transfer: yours is no longer served, theirs stops",
		Long: `Cancel a transfer. A file you offered is no longer served (a copy uploaded
from the web GUI is deleted); a file you were fetching stops and its
partial data is deleted.

` + fileArgHelp,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				id, err := resolveFileID(ctx, c, args[0])
				if err != nil {
					return err
				}
				f, err := c.CancelFile(ctx, id)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "Cancelled %s\n", f.Name)
				return err
			})
		},
	}
}

// waitFile follows a file until its transfer ends: complete (returned),
// failed or cancelled (an error). It listens to the node's events and asks
// for the file's progress every pollEvery as well. show sees every update.
func waitFile(ctx context.Context, c *client.Client, f client.FileView, show progress) (client.FileView, error) {
	defer show.done()
	ctx, cancel := context.WithCancel(ctx)
	events, err := c.Events(ctx)
	if err != nil {
		cancel()
		return f, err
	}
	updates := make(chan client.FileView)
	lost := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer events.Close()
		for {
			ev, err := events.Next(ctx)
			if err != nil {
				lost <- err
				return
			}
			if ev.Type != parley.EventFile || ev.File == nil || ev.File.ID != f.ID {
				continue
			}
			select {
			case updates <- *ev.File:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Asked once the events flow, so that nothing falls between the two.
	if now, err := call(ctx, func(ctx context.Context) (client.FileView, error) { return c.File(ctx, f.ID) }); err == nil {
		f = now
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		show.update(f)
		switch f.State {
		case parley.FileComplete:
			return f, nil
		case parley.FileFailed:
			return f, fmt.Errorf("the transfer of %s failed: %s (try again with: parley file get %s)", f.Name, orDash(f.Error), f.ID)
		case parley.FileCanceled:
			return f, fmt.Errorf("the transfer of %s was cancelled", f.Name)
		}
		select {
		case next := <-updates:
			f = next
		case <-tick.C:
			next, err := call(ctx, func(ctx context.Context) (client.FileView, error) { return c.File(ctx, f.ID) })
			if err != nil {
				if ctx.Err() != nil {
					return f, stoppedWaiting(f)
				}
				return f, err
			}
			f = next
		case err := <-lost:
			if ctx.Err() != nil {
				return f, stoppedWaiting(f)
			}
			if errors.Is(err, io.EOF) {
				return f, errors.New("the node stopped; the transfer goes on when it is back (parley file list)")
			}
			return f, err
		case <-ctx.Done():
			return f, stoppedWaiting(f)
		}
	}
}

func stoppedWaiting(f client.FileView) error {
	return fmt.Errorf("stopped waiting; the transfer of %s goes on (see parley file list)", f.Name)
}

// resolveFileID finds the file an ID or the start of one names.
func resolveFileID(ctx context.Context, c *client.Client, arg string) (string, error) {
	arg = strings.ToLower(strings.TrimSpace(arg))
	if b, err := hex.DecodeString(arg); err == nil && len(b) == 16 {
		return arg, nil
	}
	files, err := c.Files(ctx)
	if err != nil {
		return "", err
	}
	var found []string
	for _, f := range files {
		if arg != "" && strings.HasPrefix(f.ID, arg) {
			found = append(found, f.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no file %q (see parley file list)", parley.ErrNotFound, arg)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: %d files have an ID starting with %q: give more of it", parley.ErrAmbiguous, len(found), arg)
}

// placeCopy puts the file at src into dir as name (made safe), never over
// an existing file ("name (1).ext" and so on): a hard link where the two
// are on one file system, else a copy. It returns the new path. The name
// is the offer's, not src's: the download may have been renamed to
// "name (3).ext" beside earlier ones, which means nothing in dir.
func placeCopy(src, name, dir string) (string, error) {
	name = files.SafeName(name)
	for candidate := range files.FreeNames(name) {
		dst := filepath.Join(dir, candidate)
		err := os.Link(src, dst)
		if err == nil {
			return dst, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		// No hard link across file systems (or on this one): copy into a
		// file that must be new.
		err = copyNew(src, dst)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return dst, err
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

func copyNew(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Sync()
}
