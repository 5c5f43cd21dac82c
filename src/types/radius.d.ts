// Types for the parts of the `radius` package (node-radius 1.1.4, plain JavaScript) l2tpd uses.
declare module 'radius' {
  export type AttributeValue = string | number | Buffer | Date;
  export type RawAttribute = [number, Buffer];
  export interface DecodedPacket {
    code: string;
    identifier: number;
    length: number;
    authenticator: Buffer;
    attributes: Record<string, AttributeValue | undefined>;
    raw_attributes: RawAttribute[];
  }
  export interface EncodeArgs {
    code: string;
    secret: string;
    identifier?: number;
    authenticator?: Buffer;
    attributes?: Array<[string | number, AttributeValue]>;
    add_message_authenticator?: boolean;
  }
  interface Radius {
    decode_without_secret(args: { packet: Buffer }): DecodedPacket;
    encode_response(args: {
      packet: DecodedPacket;
      code: string;
      secret: string;
      attributes?: Array<[string | number, AttributeValue]>;
    }): Buffer;
    encode(args: EncodeArgs): Buffer;
    load_dictionaries(): void;
  }
  const radius: Radius;
  export default radius;
}
