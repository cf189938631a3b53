// Content fingerprints. Node's crypto is pure computation, so core may use it; workflows do not.
import { createHash } from 'node:crypto';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
