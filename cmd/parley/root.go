package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed: bad input, node not running, ...
	exitUsage = 2 // the command line itself is wrong
)

// execute runs the command line args and returns the exit code. Errors go
// to stderr as one line; usage errors add the command's usage.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "parley: %s\n", oneLine(err))
	if errors.As(err, new(usageError)) {
		fmt.Fprint(stderr, cmd.UsageString())
		return exitUsage
	}
	return exitError
}

// globals are the flags every command has.
type globals struct {
	dataDir string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	run := &runOptions{}
	root := &cobra.Command{
		Use:   "parley",
		Short: "Parley is a peer-to-peer messenger",
		Long: `Parley is a peer-to-peer messenger: no servers, end-to-end encrypted.

Run "parley" (or "parley run") to start your node; it prints the URL of the
web GUI. The other commands talk to the running node.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runNode(cmd, g, run) },
		// Errors are printed once, by execute, as one line; usage is shown
		// only for usage errors.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data", defaultDataDir(),
		"data dir: identity, contacts, messages and the API file")
	addRunFlags(root, run) // "parley --name X" is "parley run --name X"
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newRunCmd(g),
		newIDCmd(g),
		newInviteCmd(g),
		newOpenCmd(g),
		newLogoutCmd(g),
		newDevicesCmd(g),
		newLinkCmd(g),
		newContactCmd(g),
		newSendCmd(g),
		newMessagesCmd(g),
		newReplyCmd(g),
		newEditCmd(g),
		newDeleteCmd(g),
		newReactCmd(g),
		newInfoCmd(g),
		newTimerCmd(g),
		newSearchCmd(g),
		newRequestsCmd(g),
		newAcceptCmd(g),
		newPeersCmd(g),
		newStatusCmd(g),
		newConversationsCmd(g),
		newGroupCmd(g),
		newFileCmd(g),
		newSettingsCmd(g),
		newPassphraseCmd(g),
		newBackupCmd(g),
		newRestoreCmd(g),
		newMailboxCmd(g),
	)
	root.AddCommand(newBlockCmds(g)...)
	return root
}

// defaultDataDir is parley under the user's config dir, or "" (then every
// command asks for --data).
func defaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "parley")
}

func (g *globals) dir() (string, error) {
	if g.dataDir == "" {
		return "", usageError{errors.New("no data dir: pass --data DIR")}
	}
	return g.dataDir, nil
}

// usageError marks errors in the command line itself (wrong arguments,
// unknown flags), which are shown with the usage.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// usageArgs marks what an argument validator rejects as a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// oneLine keeps an error on one line of stderr, where scripts read it.
func oneLine(err error) string {
	return newlines.Replace(strings.TrimSpace(err.Error()))
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
