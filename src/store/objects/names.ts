import { BadNameError } from '../../errors.js';

/** What OSTree (and every path we build from a tree) requires of an entry name. */
export function isValidName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export function checkName(name: string, where: string): void {
  if (!isValidName(name)) throw new BadNameError(name, where);
}

/** strcmp order on UTF-8 bytes, the order OSTree sorts dirtree entries in. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
