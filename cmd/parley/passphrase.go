package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node"
)

// removeWarning is the consequence of running without a passphrase, said
// before one is removed (and by the GUI when it offers one).
const removeWarning = "Without a passphrase, anyone who can read your files can read your messages and act as you."

// passphraseInput says where the passphrases come from: files, stdin (one
// a line, for scripts), else the terminal without echo. Never the command
// line, where other users and the shell history see it.
type passphraseInput struct {
	file, newFile string
	stdin         bool
	lines         *bufio.Reader // over stdin, once read from
}

func newPassphraseCmd(g *globals) *cobra.Command {
	in := &passphraseInput{}
	cmd := &cobra.Command{
		Use:   "passphrase",
		Short: "Set, change or remove the passphrase that protects your keys",
		Long: `Set, change or remove the passphrase that protects your keys.

Your keystore (DATA/keystore) holds your identity key and the key your
messages are stored under. With a passphrase it is encrypted (age, scrypt),
and every start of parley needs the passphrase: typed in the terminal, or
from --passphrase-file FILE or $` + passphraseEnv + `. Without one, anyone who
can read your files can read your messages and act as you.

These commands work whether or not parley is running: a running node
re-writes its keystore itself. Passphrases are read from the terminal
without echo, or with --passphrase-stdin from standard input, one a line
(the current one first, then the new one), or from files.`,
		Args: usageArgs(cobra.NoArgs),
	}
	f := cmd.PersistentFlags()
	f.BoolVar(&in.stdin, "passphrase-stdin", false,
		"read passphrases from standard input, one a line: the current one (change, remove), then the new one (set, change)")
	f.StringVar(&in.file, "passphrase-file", "",
		"file holding the current passphrase (for set: the new one, the file parley run --passphrase-file reads)")
	f.StringVar(&in.newFile, "new-passphrase-file", "", "change: file holding the new passphrase")

	set := &cobra.Command{
		Use:   "set",
		Short: "Protect your keystore with a passphrase (when none is set)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return changePassphrase(cmd, g, in, opSet, false)
		},
	}
	change := &cobra.Command{
		Use:   "change",
		Short: "Replace your passphrase by a new one",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return changePassphrase(cmd, g, in, opChange, false)
		},
	}
	var yes bool
	remove := &cobra.Command{
		Use:   "remove",
		Short: "Leave your keystore unencrypted again (asks to confirm)",
		Long:  "Leave your keystore unencrypted again. " + removeWarning,
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return changePassphrase(cmd, g, in, opRemove, yes)
		},
	}
	remove.Flags().BoolVar(&yes, "yes", false, "do not ask to confirm (needed without a terminal)")
	cmd.AddCommand(set, change, remove)
	return cmd
}

type passphraseOp int

const (
	opSet passphraseOp = iota
	opChange
	opRemove
)

// changePassphrase does op through the running node's API when one serves
// the data dir, and on the keystore file when none does (holding the data
// dir's lock, so a node starting meanwhile waits for nothing half done).
func changePassphrase(cmd *cobra.Command, g *globals, in *passphraseInput, op passphraseOp, yes bool) error {
	dir, err := g.dir()
	if err != nil {
		return err
	}
	if in.newFile != "" && op != opChange {
		return usageError{errors.New("--new-passphrase-file is for change only")}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), requestTimeout)
	defer cancel()
	c, set, err := passphraseState(ctx, dir)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
	}
	switch {
	case op == opSet && set:
		return errors.New("a passphrase is already set: to change it, run parley passphrase change")
	case op == opChange && !set:
		return errors.New("no passphrase is set: to set one, run parley passphrase set")
	case op == opRemove && !set:
		return errors.New("no passphrase is set: nothing to remove")
	}

	var old, newPass []byte
	if op != opSet {
		if old, err = in.read(cmd, in.file, "Current passphrase: ", false); err != nil {
			return err
		}
	}
	switch op {
	case opSet:
		newPass, err = in.read(cmd, in.file, "New passphrase: ", true)
	case opChange:
		newPass, err = in.read(cmd, in.newFile, "New passphrase: ", true)
	case opRemove:
		err = confirmRemove(cmd, in, yes)
	}
	if err != nil {
		return err
	}

	switch {
	case c != nil && op == opRemove:
		_, err = c.RemovePassphrase(ctx, string(old))
	case c != nil:
		_, err = c.SetPassphrase(ctx, string(old), string(newPass))
	default:
		err = node.ChangePassphrase(dir, old, newPass, slog.New(slog.DiscardHandler))
		if errors.Is(err, parley.ErrDataDirInUse) {
			err = fmt.Errorf("%w; it is not serving its API yet: try again once it has started", err)
		}
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch op {
	case opSet, opChange:
		fmt.Fprintf(out, "Passphrase %s. Every start of parley needs it now: typed in the terminal, or from --passphrase-file or $%s.\n",
			map[passphraseOp]string{opSet: "set", opChange: "changed"}[op], passphraseEnv)
	case opRemove:
		fmt.Fprintln(out, "Passphrase removed: your keystore is not encrypted any more.")
	}
	return nil
}

// passphraseState finds out whether a passphrase is set: from the running
// node (c is then its client) or, when none runs, from the keystore file.
func passphraseState(ctx context.Context, dir string) (c *client.Client, set bool, err error) {
	c, err = client.Open(dir)
	if err == nil {
		v, err := c.Passphrase(ctx)
		if err == nil {
			return c, v.Set, nil
		}
		c.Close()
		if !errors.Is(err, parley.ErrNotRunning) {
			return nil, false, err
		}
	} else if !errors.Is(err, parley.ErrNotRunning) {
		return nil, false, err
	}
	set, err = identity.Sealed(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("no identity in %s yet: start parley once first (or start it with --passphrase-file to set one from the start)", dir)
	}
	return nil, set, err
}

// read reads one passphrase: from file when given, else the next line of
// stdin with --passphrase-stdin, else the terminal (twice when confirm, for
// a new one).
func (in *passphraseInput) read(cmd *cobra.Command, file, prompt string, confirm bool) ([]byte, error) {
	switch {
	case file != "":
		return readPassphraseFile(file)
	case in.stdin:
		if in.lines == nil {
			in.lines = bufio.NewReader(cmd.InOrStdin())
		}
		line, err := in.lines.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return nil, fmt.Errorf("--passphrase-stdin: %s: no line to read", strings.TrimSuffix(prompt, ": "))
		}
		b := []byte(strings.TrimRight(line, "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("--passphrase-stdin: %s is empty", strings.ToLower(strings.TrimSuffix(prompt, ": ")))
		}
		return b, nil
	}
	fd, ok := stdinTerminal(cmd)
	if !ok {
		return nil, errors.New("no terminal to read the passphrase from: use --passphrase-stdin or --passphrase-file")
	}
	b, err := readHidden(cmd, fd, prompt)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, errors.New("the passphrase is empty")
	}
	if confirm {
		again, err := readHidden(cmd, fd, "Repeat the new passphrase: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(b, again) {
			return nil, errors.New("the passphrases do not match; nothing changed")
		}
	}
	return b, nil
}

// confirmRemove states what removing the passphrase means and asks; a
// script says --yes.
func confirmRemove(cmd *cobra.Command, in *passphraseInput, yes bool) error {
	if yes {
		return nil
	}
	if _, ok := stdinTerminal(cmd); !ok || in.stdin {
		return errors.New("removing the passphrase leaves your keystore unencrypted. " + removeWarning + " Pass --yes to confirm")
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s\nRemove the passphrase? [y/N] ", removeWarning)
	answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return errors.New("not removed")
	}
	return nil
}

// readPassphraseFile reads a passphrase file, as parley run
// --passphrase-file does: the final newline is not part of it.
func readPassphraseFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", path)
	}
	return b, nil
}

// stdinTerminal returns stdin's descriptor when it is a terminal.
func stdinTerminal(cmd *cobra.Command) (int, bool) {
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// readHidden prompts on stderr and reads a line from the terminal without
// echo.
func readHidden(cmd *cobra.Command, fd int, prompt string) ([]byte, error) {
	restore := echoOff(fd)
	defer restore()
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return b, nil
}
