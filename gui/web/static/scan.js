// Scanning a contact's safety-number QR code with the camera: the preview
// shows in the page, and a scaled-down JPEG of a frame goes to the node a
// few times a second, which decodes it (Chromium on Linux has no
// BarcodeDetector) and compares it with the number it computes. A photo
// picked as a file is the way in without a camera.

import { api } from './api.js';
import { h, icon } from './dom.js';
import * as store from './store.js';

// A frame is scaled down to this many pixels on its longest side: enough
// for a code that fills a third of the frame, a few dozen KiB as JPEG.
const frameSide = 800;
// A photo keeps more detail: the code may be small in it.
const photoSide = 1600;
// The pause between two frames sent (one at a time): a few a second finds
// a code as fast as the user holds it steady, without keeping the node busy.
const framePause = 300;

/**
 * safetyScanner is the "Scan their code" control for a contact, drawn once
 * per screen and kept across its redraws (a redraw must not stop the
 * camera). name() is the contact's name as it is now. stop() turns the
 * camera off; the screen calls it when it goes.
 */
export function safetyScanner(peerID, name) {
  const status = h('p', { class: 'scan-status', role: 'status', 'aria-live': 'polite' });
  const video = h('video', { class: 'scan-preview', muted: true, playsinline: true, autoplay: true, hidden: true, 'aria-label': 'Camera preview' });
  video.muted = true;
  const start = h('button', { type: 'button', class: 'secondary' }, icon('qr'), h('span', null, 'Scan their code'));
  const stopButton = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Stop scanning');
  const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'offscreen', id: `scan-file-${peerID}` });
  const pick = h('label', { class: 'button secondary', for: file.id, hidden: true }, 'Choose a photo of their code');
  const el = h('div', { class: 'stack scanner' },
    h('div', { class: 'row' }, start, stopButton, pick, file),
    video, status);

  let stream = null;
  let running = 0; // which scan is running; 0: none. A new one makes the old loop stop.

  const say = (text, kind = '') => {
    status.textContent = text;
    status.className = `scan-status ${kind}`.trim();
  };

  const stop = () => {
    running = 0;
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stopButton.hidden = true;
    start.hidden = false;
  };

  /** answer shows the node's verdict; it says whether to keep scanning. */
  const answer = async (r, fromPhoto) => {
    switch (r.result) {
      case 'match':
        say(r.message, 'verified');
        await store.refresh('contacts').catch(() => {});
        return false;
      case 'mismatch':
        say(r.message, 'warning');
        return false;
      case 'not_safety_number':
        say(r.message);
        return !fromPhoto;
      default:
        say(fromPhoto ? 'No QR code found in that photo: take it again, closer and steady, with the whole code in it.'
          : `Scanning… hold the code ${name()}'s Parley shows for you steady in the frame.`);
        return !fromPhoto;
    }
  };

  const offerPhoto = (why) => {
    pick.hidden = false;
    say(`${why} Take or choose a photo of the code ${name()}'s Parley shows for you instead.`, 'warning');
  };

  start.addEventListener('click', async () => {
    stop();
    if (!navigator.mediaDevices?.getUserMedia) {
      offerPhoto('This browser cannot use a camera here.');
      return;
    }
    const run = Date.now();
    running = run;
    say('Opening the camera…');
    try {
      // The rear camera on a phone: the one that faces the other screen.
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (err) {
      running = 0;
      offerPhoto(err?.name === 'NotAllowedError' ? 'Parley may not use the camera (permission refused).'
        : 'No camera could be opened.');
      return;
    }
    if (running !== run) { // stopped, or the screen went, while the browser asked
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    start.hidden = true;
    stopButton.hidden = false;
    say(`Scanning… hold the code ${name()}'s Parley shows for you steady in the frame.`);
    scanLoop(run);
  });
  stopButton.addEventListener('click', () => { stop(); say(''); });

  const scanLoop = async (run) => {
    while (running === run) {
      // A redraw that moved the preview paused it.
      if (video.paused) video.play().catch(() => {});
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        let again = true;
        try {
          const jpeg = await toJPEG(video, video.videoWidth, video.videoHeight, frameSide);
          const r = await api.scanSafety(peerID, jpeg);
          if (running !== run) return;
          again = await answer(r, false);
        } catch (err) {
          if (running !== run) return;
          say(err.message || String(err), 'warning');
          again = false;
        }
        if (!again) {
          if (running === run) stop();
          return;
        }
      }
      await new Promise((resolve) => { setTimeout(resolve, framePause); });
    }
  };

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    file.value = '';
    if (!f) return;
    say('Reading the photo…');
    try {
      const bitmap = await createImageBitmap(f);
      const jpeg = await toJPEG(bitmap, bitmap.width, bitmap.height, photoSide);
      bitmap.close();
      await answer(await api.scanSafety(peerID, jpeg), true);
    } catch (err) {
      say(err?.name === 'InvalidStateError' || err?.name === 'EncodingError'
        ? 'That file is not a picture this browser can read: choose a JPEG or PNG photo.'
        : (err.message || String(err)), 'warning');
    }
  });

  return { el, stop };
}

/** toJPEG draws source scaled down to at most side pixels a side, as a JPEG Blob. */
function toJPEG(source, width, height, side) {
  const scale = Math.min(1, side / Math.max(width, height));
  const canvas = h('canvas');
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('Could not capture a picture from the camera.'))), 'image/jpeg', 0.85);
  });
}
