package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/atomicfile"
	"github.com/parley-im/parley/node"
)

// What a backup holds and what it does not, said by both commands' help
// and by the README.
const backupContents = `A backup holds your identity (your keys: restoring it makes the new
node you), contacts, conversations and their history, groups, file
records and settings. It does not hold the contents of files you
received or sent (they stay in your downloads folder: copy them
yourself), nor browser logins.`

func newBackupCmd(g *globals) *cobra.Command {
	in := &passphraseInput{}
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Save an encrypted backup of your running node to FILE",
		Long: `Save an encrypted backup of your running node to FILE.

` + backupContents + `

The backup is encrypted with a passphrase you choose (age, scrypt): typed
twice in the terminal, or from --passphrase-file, $` + passphraseEnv + ` or
--passphrase-stdin. Restoring needs it: keep it somewhere safe. The node
keeps running while the backup is taken. FILE is written with mode 0600,
and replaced only once the whole backup is in it.

To restore on a new computer: parley restore FILE --data NEWDIR`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return backup(cmd, g, in, args[0]) },
	}
	addBackupPassphraseFlags(cmd, in)
	return cmd
}

func newRestoreCmd(g *globals) *cobra.Command {
	in := &passphraseInput{}
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into a new data dir (no node running there)",
		Long: `Restore a backup made by parley backup into the data dir (--data), which
must not hold an identity yet: restore refuses to overwrite one.

` + backupContents + `

The backup's passphrase is asked for in the terminal, or read from
--passphrase-file, $` + passphraseEnv + ` or --passphrase-stdin. Your
keystore is restored as it was: if it had a passphrase, parley asks for
that one at start (it may differ from the backup's). A wrong passphrase
writes nothing; a damaged or incomplete backup is refused and whatever was
written is removed.

Then start parley on the data dir. Do not run the old node at the same
time: both would be you.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return restore(cmd, g, in, args[0]) },
	}
	addBackupPassphraseFlags(cmd, in)
	return cmd
}

func addBackupPassphraseFlags(cmd *cobra.Command, in *passphraseInput) {
	f := cmd.Flags()
	f.StringVar(&in.file, "passphrase-file", "", "file holding the backup's passphrase (default: $"+passphraseEnv+", else asked)")
	f.BoolVar(&in.stdin, "passphrase-stdin", false, "read the backup's passphrase from standard input (one line)")
}

// backupPassphrase is the backup's passphrase: from the file, else
// $PARLEY_PASSPHRASE, else stdin or the terminal (twice when confirm, for
// a new backup).
func backupPassphrase(cmd *cobra.Command, in *passphraseInput, confirm bool) ([]byte, error) {
	if in.file == "" && !in.stdin {
		if p := os.Getenv(passphraseEnv); p != "" {
			return []byte(p), nil
		}
	}
	prompt := "Passphrase for the backup: "
	if confirm {
		prompt = "New passphrase for the backup: "
	}
	return in.read(cmd, in.file, prompt, confirm)
}

func backup(cmd *cobra.Command, g *globals, in *passphraseInput, file string) error {
	// Ask for the passphrase only once the node is known to run.
	dir, err := g.dir()
	if err != nil {
		return err
	}
	c, err := client.Open(dir)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := call(cmd.Context(), c.Self); err != nil {
		return err
	}
	pass, err := backupPassphrase(cmd, in, true)
	if err != nil {
		return err
	}
	// No deadline: a large store takes as long as it takes. Ctrl-C stops
	// it, and FILE is then left as it was.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	counted := &countingWriter{}
	err = atomicfile.WriteStream(file, func(w io.Writer) error {
		counted.w = w
		return c.Backup(ctx, string(pass), counted)
	})
	if err != nil {
		return err
	}
	size := counted.n
	fmt.Fprintf(cmd.OutOrStdout(), "Backup written to %s (%s). Keep its passphrase: without it the backup cannot be opened.\nTo restore it on a new computer: parley restore %s --data NEWDIR\n",
		file, humanBytes(size), file)
	return nil
}

func restore(cmd *cobra.Command, g *globals, in *passphraseInput, file string) error {
	dir, err := g.dir()
	if err != nil {
		return err
	}
	// Refuse before asking for anything.
	if err := node.CheckRestoreTarget(dir); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	pass, err := backupPassphrase(cmd, in, false)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	m, err := node.Restore(ctx, node.RestoreConfig{DataDir: dir, Archive: f, Passphrase: pass})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Restored %s (backup of %s) into %s.\n", m.PeerID, m.Created.Local().Format(time.DateTime), dir)
	if sealed, err := identity.Sealed(dir); err == nil && sealed {
		fmt.Fprintln(out, "Your keystore keeps the passphrase it had when the backup was made: parley asks for that one at start.")
	}
	fmt.Fprintf(out, "Start it with: parley --data %s\nDo not run the old node at the same time: both would be you.\n", dir)
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
