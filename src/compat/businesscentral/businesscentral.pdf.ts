// A contact card as a one-page PDF 1.4, written by hand: the standard Helvetica fonts (no embedding), text in
// WinAnsiEncoding, and a cross-reference table whose offsets are byte positions of each `N 0 obj`. The file is
// built as a latin1 string (one character per byte) so offsets are string lengths; every byte of user text at or
// above 0x80 is written as an octal escape, so the only non-ASCII bytes are the binary marker in the header.

export interface ContactCard {
  id: string;
  name: string;
  title: string;
  email: string;
  phone: string;
  customerName: string;
  /** When the contact last changed: the document's date, so one version always renders to the same bytes. */
  updatedAt: Date;
}

// WinAnsiEncoding's 0x80-0x9F block: the typographic characters Windows-1252 puts where Latin-1 has controls.
const WIN_ANSI_EXTRA: Record<string, number> = {
  '€': 0x80,
  '‚': 0x82,
  ƒ: 0x83,
  '„': 0x84,
  '…': 0x85,
  '†': 0x86,
  '‡': 0x87,
  ˆ: 0x88,
  '‰': 0x89,
  Š: 0x8a,
  '‹': 0x8b,
  Œ: 0x8c,
  Ž: 0x8e,
  '‘': 0x91,
  '’': 0x92,
  '“': 0x93,
  '”': 0x94,
  '•': 0x95,
  '–': 0x96,
  '—': 0x97,
  '˜': 0x98,
  '™': 0x99,
  š: 0x9a,
  '›': 0x9b,
  œ: 0x9c,
  ž: 0x9e,
  Ÿ: 0x9f,
};

function winAnsiByte(ch: string): number | undefined {
  const code = ch.codePointAt(0) as number;
  if (code >= 0x20 && code <= 0x7e) return code;
  if (code >= 0xa0 && code <= 0xff) return code;
  return WIN_ANSI_EXTRA[ch];
}

/**
 * Text → WinAnsi bytes (as a latin1 string). A character the encoding lacks is replaced by its compatibility
 * decomposition without accents when that fits (Ś→S, Ǆ→DZ, 𝒜→A), otherwise by '?' (Ł, 李, emoji); controls
 * become spaces.
 */
export function toWinAnsi(text: string): string {
  let out = '';
  for (const ch of text) {
    const byte = winAnsiByte(ch);
    if (byte !== undefined) {
      out += String.fromCharCode(byte);
      continue;
    }
    const code = ch.codePointAt(0) as number;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) {
      out += ' ';
      continue;
    }
    const base = ch.normalize('NFKD').replace(/\p{M}/gu, '');
    const bytes = [...base].map(winAnsiByte);
    out +=
      base && base !== ch && bytes.every((b) => b !== undefined)
        ? String.fromCharCode(...(bytes as number[]))
        : '?';
  }
  return out;
}

/** A PDF literal string: ( ) \ escaped, bytes outside printable ASCII as octal escapes. */
export function pdfString(winAnsi: string): string {
  let out = '(';
  for (const ch of winAnsi) {
    const code = ch.charCodeAt(0);
    if (ch === '(' || ch === ')' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out})`;
}

/** Breaks text into lines of at most `width` characters, at spaces where possible. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text.trim();
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    const at = cut > width / 2 ? cut : width;
    lines.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  lines.push(rest);
  return lines;
}

function pdfDate(date: Date): string {
  const iso = date.toISOString();
  return `D:${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

const PAGE_WIDTH = 595; // A4 in points
const PAGE_HEIGHT = 842;
const MARGIN = 56;

function contentStream(card: ContactCard): string {
  const ops: string[] = [];
  const text = (font: 'F1' | 'F2', size: number, x: number, y: number, value: string) =>
    ops.push(`BT /${font} ${size} Tf ${x} ${y} Td ${pdfString(value)} Tj ET`);
  let y = PAGE_HEIGHT - MARGIN - 10;
  text('F1', 10, MARGIN, y, 'CONTACT CARD');
  y -= 34;
  for (const line of wrap(toWinAnsi(card.name || '-'), 38)) {
    text('F2', 22, MARGIN, y, line);
    y -= 26;
  }
  for (const line of wrap(toWinAnsi(card.title), 64)) {
    if (!line) continue;
    text('F1', 13, MARGIN, y, line);
    y -= 17;
  }
  y -= 6;
  ops.push(`0.6 G 1 w ${MARGIN} ${y} m ${PAGE_WIDTH - MARGIN} ${y} l S 0 G`);
  y -= 24;
  const rows: [string, string][] = [
    ['Email', card.email],
    ['Phone', card.phone],
    ['Customer', card.customerName],
    ['Contact ID', card.id],
  ];
  for (const [label, value] of rows) {
    text('F2', 11, MARGIN, y, label);
    for (const line of wrap(toWinAnsi(value || '-'), 64)) {
      text('F1', 11, MARGIN + 90, y, line);
      y -= 16;
    }
    y -= 4;
  }
  return `${ops.join('\n')}\n`;
}

/** The contact card as PDF bytes. */
export function contactCardPdf(card: ContactCard): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>',
  ];
  const stream = contentStream(card);
  objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}endstream`);
  const title = toWinAnsi(`Contact card: ${card.name || card.id}`);
  objects.push(
    `<< /Title ${pdfString(title)} /Producer (Contacts service) /CreationDate (${pdfDate(card.updatedAt)}) >>`,
  );

  // The comment's bytes above 0x7F tell transfer tools the file is binary.
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  // Each entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, n/f, space, LF.
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${xref}\n%%EOF`;
  return Buffer.from(out, 'latin1');
}
