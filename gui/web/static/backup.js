// Settings' Backup section: an encrypted backup of this node, downloaded
// by the browser. The form posts natively to /api/v1/backup (same origin,
// with the session cookie), whose answer is an attachment: the browser
// streams it to disk as a download, however large the history, where a
// fetch would have to hold it all in memory first. Restoring is a command
// (parley restore), run before a node starts on the new computer.

import { errorBox, field, h } from './dom.js';

/** section is the Backup section of Settings. */
export function section() {
  const pass = h('input', { type: 'password', name: 'passphrase', autocomplete: 'new-password', required: true });
  const again = h('input', { type: 'password', name: 'confirm', autocomplete: 'new-password', required: true });
  const box = errorBox();
  const status = h('p', { role: 'status', class: 'hint' });
  const form = h('form', { class: 'stack', method: 'post', action: '/api/v1/backup', 'aria-label': 'Download a backup' },
    h('p', null, 'A backup holds your identity, contacts, conversations, groups and settings, encrypted with a passphrase you choose here. ',
      'It does not hold the contents of files you sent or received: copy your downloads folder too.'),
    field('Passphrase for the backup', pass, 'Restoring asks for it. Nobody can recover it: keep it somewhere safe.'),
    field('Confirm the backup\'s passphrase', again),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Download backup')),
    status, box,
    h('p', null, 'To restore, run ', h('code', null, 'parley restore FILE --data NEWDIR'),
      ' on the new computer, then start Parley with ', h('code', null, '--data NEWDIR'),
      '. Do not run Parley as you on both computers at once.'));
  form.addEventListener('submit', (e) => {
    status.textContent = '';
    box.show('');
    if (!pass.value) {
      e.preventDefault();
      box.show('Please enter a passphrase for the backup.');
      return;
    }
    if (pass.value !== again.value) {
      e.preventDefault();
      box.show('The two passphrases are not the same.');
      return;
    }
    // The browser takes the form's values as the event ends: clear them
    // after, so they do not stay on the page.
    setTimeout(() => { pass.value = ''; again.value = ''; }, 0);
    status.textContent = 'Your browser is saving the backup (parley-backup-DATE.age). A long history takes a while.';
  });
  return h('section', { 'aria-labelledby': 'set-backup' }, h('h3', { id: 'set-backup' }, 'Backup'), form);
}
