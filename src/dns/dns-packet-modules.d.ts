// dns-packet ships its type and class tables as plain modules without types.
declare module 'dns-packet/types.js' {
  export function toString(type: number): string;
  export function toType(name: string): number;
}
