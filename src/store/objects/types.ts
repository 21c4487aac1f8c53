// The object kinds of an OSTree repository, named by their file extension.
export type MetaObjectType = 'dirtree' | 'dirmeta' | 'commit' | 'commitmeta';
export type ObjectType = 'file' | MetaObjectType;

/** Extended attributes as OSTree stores them: sorted by name, values raw. */
export type Xattrs = Array<[name: string, value: Buffer]>;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isLnk = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;
