// WCAG contrast of every visible text on a page against what is painted behind it: the element's
// own text colour (times the opacity of it and its ancestors) over the background colours of its
// ancestors, composited from the first opaque one up. Runs in the page; colours in any CSS syntax
// (color-mix, oklch) are read through a canvas, so they come out as the browser paints them.
import type { Page } from 'playwright-core';

export interface ContrastOffender {
  text: string;
  ratio: number;
  color: string;
  background: string;
  where: string;
}

/** Every visible text below `minimum` (4.5:1 unless given), worst first. */
export async function contrastOffenders(page: Page, minimum = 4.5): Promise<ContrastOffender[]> {
  return page.evaluate((min) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    type RGBA = [number, number, number, number];
    const parse = (css: string): RGBA => {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = '#000';
      ctx.fillStyle = css;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
      return [r!, g!, b!, a! / 255];
    };
    const over = (top: RGBA, bottom: RGBA): RGBA => {
      const a = top[3];
      return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
    };
    const luminance = ([r, g, b]: RGBA) => {
      const ch = (v: number) => {
        const s = v / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
    };
    const ratio = (a: RGBA, b: RGBA) => {
      const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
      return (hi + 0.05) / (lo + 0.05);
    };
    const hex = (c: RGBA) => `#${c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
    const describe = (el: Element) => {
      const parts: string[] = [];
      for (let e: Element | null = el; e && parts.length < 3; e = e.parentElement) {
        const id = e.getAttribute('data-testid');
        const cls = [...e.classList].filter((c) => !c.startsWith('data-v')).slice(0, 2).join('.');
        parts.push(`${e.tagName.toLowerCase()}${cls ? `.${cls}` : ''}${id ? `[${id}]` : ''}`);
      }
      return parts.join(' < ');
    };

    /** The colour behind the element: its and its ancestors' backgrounds, composited. */
    const backgroundOf = (el: Element): RGBA | null => {
      const layers: RGBA[] = [];
      for (let e: Element | null = el; e; e = e.parentElement) {
        const style = getComputedStyle(e);
        if (style.backgroundImage !== 'none' && !style.backgroundImage.startsWith('url(')) return null; // a gradient: not one colour
        const bg = parse(style.backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 0.999) break;
      }
      let result: RGBA = parse(getComputedStyle(document.documentElement).backgroundColor);
      if (result[3] < 1) result = over(result, [255, 255, 255, 1]);
      for (const layer of layers.reverse()) result = over(layer, result);
      return result;
    };
    const opacityOf = (el: Element) => {
      let o = 1;
      for (let e: Element | null = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
      return o;
    };

    const found: { text: string; ratio: number; color: string; background: string; where: string }[] = [];
    const seen = new Set<Element>();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent?.trim();
      const el = node.parentElement;
      if (!text || !el || seen.has(el)) continue;
      seen.add(el);
      if (el.closest('script, style, noscript, .sr-only, [aria-hidden="true"] .sr-only')) continue;
      // disabled controls are exempt (WCAG 1.4.3: inactive user interface components)
      if (el.closest(':disabled, [aria-disabled="true"]')) continue;
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true })) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width < 1 || rect.height < 1) continue;
      const bg = backgroundOf(el);
      if (!bg) continue;
      const fg = parse(getComputedStyle(el).color);
      const alpha = fg[3] * opacityOf(el);
      const shown = over([fg[0], fg[1], fg[2], alpha], bg);
      const r = ratio(shown, bg);
      if (r < min) found.push({ text: text.slice(0, 60), ratio: Math.round(r * 100) / 100, color: hex(shown), background: hex(bg), where: describe(el) });
    }
    return found.sort((a, b) => a.ratio - b.ratio);
  }, minimum);
}
