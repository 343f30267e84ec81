/** A plain message for anything thrown, for logs and error values (a non-Error throw as its string). */
export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
