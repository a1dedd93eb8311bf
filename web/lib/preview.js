// Attachment previews. PDF: rendered by pdf.js in a sandboxed frame (lib: viewers/pdf-viewer.js) that gets the
// bytes by postMessage, so a hostile PDF is parsed in an origin with no cookies and no access to this page.
// Images: only PNG, JPEG, GIF and WebP, decoded by <img> from a blob: URL (an image element never runs script).
// Anything else: download only.
import { fetchBlob } from './api.js';
import { el } from './dom.js';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export function canPreview(mediaType) {
  return mediaType === 'application/pdf' || IMAGE_TYPES.has(mediaType);
}

/** Fills `area` with a preview of the file at `url`; `status` (role=status) tells how it went. */
export async function showPreview(area, status, { url, mediaType, filename }) {
  status.textContent = 'Préparation de l’aperçu…';
  const blob = await fetchBlob(url);
  if (!blob) {
    status.textContent = 'Ce fichier est introuvable.';
    return;
  }
  if (IMAGE_TYPES.has(mediaType)) {
    const src = URL.createObjectURL(new Blob([blob], { type: mediaType }));
    const img = el('img', { class: 'preview', src, alt: `Aperçu de ${filename}` });
    area.replaceChildren(img);
    img.scrollIntoView({ block: 'start' });
    status.textContent = `Aperçu de ${filename}.`;
    return;
  }
  const data = await blob.arrayBuffer();
  const frame = el('iframe', {
    class: 'pdf-viewer',
    sandbox: 'allow-scripts',
    src: '/assets/viewers/pdf.html',
    title: `Aperçu de ${filename}`,
    referrerpolicy: 'no-referrer',
  });
  const onMessage = (ev) => {
    if (ev.source !== frame.contentWindow || !ev.data) return;
    if (ev.data.type === 'ready') frame.contentWindow.postMessage({ type: 'pdf', data }, '*', [data]);
    else if (ev.data.type === 'rendered') {
      status.textContent = `Aperçu de ${filename} : ${ev.data.pages} page${ev.data.pages > 1 ? 's' : ''}.`;
      window.removeEventListener('message', onMessage);
    } else if (ev.data.type === 'error') {
      status.textContent = "L'aperçu de ce document est impossible. Vous pouvez le télécharger.";
      window.removeEventListener('message', onMessage);
    }
  };
  window.addEventListener('message', onMessage);
  area.replaceChildren(frame);
  // Chromium pauses the rendering of off-screen cross-origin frames: bring the preview into view.
  frame.scrollIntoView({ block: 'start' });
}
