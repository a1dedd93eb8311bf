// PDF preview, run inside <iframe sandbox="allow-scripts"> (opaque origin: no cookies, no access to the app, no
// network but its own scripts under the viewer CSP). The app sends the PDF's bytes with postMessage; pdf.js
// renders each page to a canvas with eval disabled (CVE-2024-4367) and no XFA, and never runs the PDF's own
// JavaScript. Results go back to the parent as { type: 'rendered', pages } or { type: 'error' }.
import * as pdfjs from '/vendor/pdf.min.mjs';

// This frame's origin is opaque, so a worker from the server's URL is cross-origin and refused: pdf.js then
// parses on this frame's own thread ("fake worker", loaded with CORS), slower for big files but still isolated.
pdfjs.GlobalWorkerOptions.workerSrc = '/vendor/pdf.worker.min.mjs';
const MAX_PAGES = 50;
const pages = document.getElementById('pages');

function message(text) {
  const p = document.createElement('p');
  p.className = 'msg';
  p.textContent = text;
  pages.replaceChildren(p);
}

async function renderPdf(data) {
  const doc = await pdfjs.getDocument({ data, isEvalSupported: false, enableXfa: false, disableAutoFetch: true, stopAtErrors: false }).promise;
  pages.replaceChildren();
  const count = Math.min(doc.numPages, MAX_PAGES);
  for (let n = 1; n <= count; n += 1) {
    const page = await doc.getPage(n);
    const base = page.getViewport({ scale: 1 });
    const scale = Math.min(2, Math.max(0.5, (document.documentElement.clientWidth - 24) / base.width)) * (window.devicePixelRatio || 1);
    const viewport = page.getViewport({ scale });
    const canvas = document.createElement('canvas');
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `Page ${n} sur ${doc.numPages}`);
    pages.append(canvas);
    await page.render({ canvasContext: canvas.getContext('2d'), viewport }).promise;
  }
  if (doc.numPages > MAX_PAGES) {
    const more = document.createElement('p');
    more.className = 'msg';
    more.textContent = `Aperçu limité aux ${MAX_PAGES} premières pages : téléchargez le document pour le lire en entier.`;
    pages.append(more);
  }
  return doc.numPages;
}

window.addEventListener('message', async (ev) => {
  if (ev.source !== window.parent || !ev.data || ev.data.type !== 'pdf' || !(ev.data.data instanceof ArrayBuffer)) return;
  try {
    const n = await renderPdf(new Uint8Array(ev.data.data));
    window.parent.postMessage({ type: 'rendered', pages: n }, '*');
  } catch {
    message("L'aperçu de ce document est impossible. Vous pouvez le télécharger.");
    window.parent.postMessage({ type: 'error' }, '*');
  }
});
window.parent.postMessage({ type: 'ready' }, '*');
