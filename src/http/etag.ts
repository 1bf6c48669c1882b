// ETags are the object's version: strong validators, so If-Match compares them exactly (RFC 9110 §13.1.1).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS } from './errors.ts';

export function etagOf(version: number): string {
  return `"v${version}"`;
}

/** What an If-Match header allows: any current version ('*'), a set of versions, or anything (no header). */
export type IfMatch = '*' | ReadonlySet<number> | undefined;

export function parseIfMatch(request: FastifyRequest): IfMatch {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return '*';
  const versions = new Set<number>();
  for (const part of text.split(',')) {
    const tag = part.trim();
    // Weak tags never match under strong comparison.
    const m = /^"v(\d{1,9})"$/.exec(tag);
    if (m) versions.add(Number(m[1]));
    else if (!/^(W\/)?"[^"]*"$/.test(tag))
      throw ERRORS.badRequest('If-Match must be "*" or a list of quoted ETags.');
  }
  return versions;
}

export function checkIfMatch(ifMatch: IfMatch, currentVersion: number): void {
  if (ifMatch === undefined || ifMatch === '*') return;
  if (!ifMatch.has(currentVersion)) throw ERRORS.preconditionFailed();
}

/** Sets the ETag; answers 304 when the client's If-None-Match already has this version. */
export function withEtag(request: FastifyRequest, reply: FastifyReply, version: number): boolean {
  const tag = etagOf(version);
  reply.header('etag', tag);
  const inm = request.headers['if-none-match'];
  if (inm && request.method === 'GET') {
    const tags = inm.split(',').map((t) => t.trim().replace(/^W\//, ''));
    if (tags.includes(tag) || tags.includes('*')) {
      reply.code(304).send();
      return true;
    }
  }
  return false;
}
