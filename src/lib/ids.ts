import { v7 } from 'uuid';

/** Time-ordered UUIDv7: public ids that index well (new rows land at the right edge of the B-tree). */
export function newId(): string {
  return v7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
