// Renders an HTML mail body safely.
//
// Layers, each enough on its own against script execution:
// 1. DOMPurify (HTML profile only: no SVG/MathML, no forms, no <style>/<link>/<meta>/<base>, no event handlers,
//    no javascript: URLs) turns the hostile markup into an inert DOM fragment.
// 2. The fragment is shown in an <iframe sandbox> WITHOUT allow-scripts: nothing in it can run, whatever slipped
//    through. (allow-same-origin lets this page fill the frame and size it; without allow-scripts that grants the
//    mail nothing.)
// 3. The frame inherits the app's Content-Security-Policy: no remote image, font, stylesheet or connection can
//    load, so remote images (read tracking) and CSS exfiltration are refused by the browser itself.
// Remote references are also removed here so the page can tell the patient that images were blocked; `cid:`
// images are mapped to the message's own attachments (same origin). Inline styles are re-applied through the
// CSSOM (allowed by the CSP, unlike style attributes in markup) after removing any url()/image-set() in them.
import DOMPurify from '/vendor/purify.es.mjs';

const CSS_LOADS = /\b(?:url|image-set|-webkit-image-set|image|cross-fade|element)\s*\(|@import|expression\s*\(/gi;
const FRAME_SHELL = '<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>';
const BASE_CSS =
  'body{margin:0;padding:8px;font-family:system-ui,sans-serif;color:#1b1b1b;overflow-wrap:anywhere;}img{max-width:100%;height:auto;}table{max-width:100%;}';

/** Removes anything in a CSS text that could fetch: such declarations become invalid and are dropped. */
export function neutralizeCss(css) {
  let blocked = 0;
  const text = css.replace(CSS_LOADS, () => {
    blocked += 1;
    return 'blocked(';
  });
  return { text, blocked };
}

/**
 * Sanitizes `html` into a fragment. `cidUrl(contentId)` returns the URL of an inline attachment or null.
 * Returns the fragment, the collected inline styles (element → css text) and how many remote loads were removed.
 */
export function sanitizeMailHtml(html, cidUrl) {
  const purify = DOMPurify(window);
  let blocked = 0;
  purify.addHook('afterSanitizeAttributes', (node) => {
    for (const attr of ['src', 'background', 'poster', 'srcset', 'lowsrc', 'dynsrc']) {
      const v = node.getAttribute && node.getAttribute(attr);
      if (v === null || v === undefined) continue;
      const cid = /^\s*cid:(.+)$/i.exec(v);
      const mapped = cid && attr === 'src' ? cidUrl(decodeURIComponent(cid[1].trim())) : null;
      if (mapped) node.setAttribute('src', mapped);
      else if (attr !== 'src' || !/^\s*data:image\/(?:png|jpeg|gif|webp);/i.test(v)) {
        // only embedded images and the message's own attachments: anything else would be a request out
        node.removeAttribute(attr);
        blocked += 1;
      }
    }
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
    if (node.hasAttribute && node.hasAttribute('style')) {
      const r = neutralizeCss(node.getAttribute('style'));
      blocked += r.blocked;
      node.removeAttribute('style');
      if (r.text.trim()) node.setAttribute('data-mes-style', r.text);
    }
  });
  const fragment = purify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: [
      'style',
      'link',
      'meta',
      'base',
      'form',
      'input',
      'button',
      'select',
      'textarea',
      'iframe',
      'frame',
      'object',
      'embed',
      'video',
      'audio',
      'source',
      'track',
      'picture',
    ],
    FORBID_ATTR: ['srcset', 'ping', 'action', 'formaction', 'xlink:href'],
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  purify.removeAllHooks();
  return { fragment, blocked };
}

/**
 * An iframe showing the sanitized mail. `onReady(blockedCount)` runs once it is filled (to tell the patient
 * about blocked images).
 */
export function mailHtmlFrame(html, { title, cidUrl, onReady }) {
  const { fragment, blocked } = sanitizeMailHtml(html, cidUrl);
  const frame = document.createElement('iframe');
  frame.className = 'mail-html';
  frame.title = title;
  frame.setAttribute('sandbox', 'allow-same-origin allow-popups allow-popups-to-escape-sandbox');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.srcdoc = FRAME_SHELL;
  frame.addEventListener(
    'load',
    () => {
      const doc = frame.contentDocument;
      if (!doc) return;
      const sheet = new frame.contentWindow.CSSStyleSheet();
      sheet.replaceSync(BASE_CSS);
      doc.adoptedStyleSheets = [sheet];
      doc.body.append(doc.importNode(fragment, true));
      for (const node of doc.querySelectorAll('[data-mes-style]')) {
        node.style.cssText = node.getAttribute('data-mes-style');
        node.removeAttribute('data-mes-style');
      }
      const fit = () => {
        frame.style.height = `${Math.min(doc.documentElement.scrollHeight + 4, 4000)}px`;
      };
      fit();
      for (const img of doc.images) img.addEventListener('load', fit);
      if (onReady) onReady(blocked);
    },
    { once: true },
  );
  return frame;
}
