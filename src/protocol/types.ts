// The vocabulary of RFC 2661 control messages as TypeScript types: message types,
// AVP attribute types and the typed value each AVP decodes to. The codec (avp.ts,
// message.ts) turns bytes into these and back; the state machines read them.

/** Control message types (§3.2). ZLB is not a type: it is a control header with no AVPs. */
export const MessageType = {
  SCCRQ: 1,
  SCCRP: 2,
  SCCCN: 3,
  StopCCN: 4,
  HELLO: 6,
  OCRQ: 7,
  OCRP: 8,
  OCCN: 9,
  ICRQ: 10,
  ICRP: 11,
  ICCN: 12,
  CDN: 14,
  WEN: 15,
  SLI: 16,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Attribute types with Vendor ID 0 (§4.4, plus 46 from RFC 3145). */
export const AvpType = {
  MessageType: 0,
  ResultCode: 1,
  ProtocolVersion: 2,
  FramingCapabilities: 3,
  BearerCapabilities: 4,
  TieBreaker: 5,
  FirmwareRevision: 6,
  HostName: 7,
  VendorName: 8,
  AssignedTunnelId: 9,
  ReceiveWindowSize: 10,
  Challenge: 11,
  Q931CauseCode: 12,
  ChallengeResponse: 13,
  AssignedSessionId: 14,
  CallSerialNumber: 15,
  MinimumBps: 16,
  MaximumBps: 17,
  BearerType: 18,
  FramingType: 19,
  CalledNumber: 21,
  CallingNumber: 22,
  SubAddress: 23,
  TxConnectSpeed: 24,
  PhysicalChannelId: 25,
  InitialReceivedLcpConfreq: 26,
  LastSentLcpConfreq: 27,
  LastReceivedLcpConfreq: 28,
  ProxyAuthenType: 29,
  ProxyAuthenName: 30,
  ProxyAuthenChallenge: 31,
  ProxyAuthenId: 32,
  ProxyAuthenResponse: 33,
  CallErrors: 34,
  Accm: 35,
  RandomVector: 36,
  PrivateGroupId: 37,
  RxConnectSpeed: 38,
  SequencingRequired: 39,
  PppDisconnectCauseCode: 46,
} as const;
export type AvpName = keyof typeof AvpType;

/** Framing Capabilities / Framing Type bits (AVPs 3 and 19). */
export interface FramingBits {
  sync: boolean;
  async: boolean;
}

/** Bearer Capabilities / Bearer Type bits (AVPs 4 and 18). */
export interface BearerBits {
  digital: boolean;
  analog: boolean;
}

export interface ResultCodeValue {
  result: number;
  /** Present when the AVP carried an Error Code field. */
  error?: number;
  /** Present when the AVP carried an Error Message (UTF-8). */
  message?: string;
}

export interface ProtocolVersionValue {
  version: number;
  revision: number;
}

export interface Q931CauseValue {
  cause: number;
  /** The Q.931 message code. */
  messageCode: number;
  advisory?: string;
}

export interface CallErrorsValue {
  crcErrors: number;
  framingErrors: number;
  hardwareOverruns: number;
  bufferOverruns: number;
  timeoutErrors: number;
  alignmentErrors: number;
}

export interface AccmValue {
  send: number;
  receive: number;
}

export interface PppDisconnectCauseValue {
  code: number;
  protocol: number;
  direction: number;
  message?: string;
}

/** The decoded value of each known AVP. Strings are decoded as UTF-8 except where noted. */
export interface AvpValues {
  MessageType: number;
  ResultCode: ResultCodeValue;
  ProtocolVersion: ProtocolVersionValue;
  FramingCapabilities: FramingBits;
  BearerCapabilities: BearerBits;
  TieBreaker: Uint8Array;
  FirmwareRevision: number;
  /** Octets in the RFC; decoded as latin1 so any bytes round-trip. */
  HostName: string;
  VendorName: string;
  AssignedTunnelId: number;
  ReceiveWindowSize: number;
  Challenge: Uint8Array;
  Q931CauseCode: Q931CauseValue;
  ChallengeResponse: Uint8Array;
  AssignedSessionId: number;
  CallSerialNumber: number;
  MinimumBps: number;
  MaximumBps: number;
  BearerType: BearerBits;
  FramingType: FramingBits;
  /** ASCII in the RFC; latin1 so any bytes round-trip. Same for CallingNumber, SubAddress. */
  CalledNumber: string;
  CallingNumber: string;
  SubAddress: string;
  TxConnectSpeed: number;
  PhysicalChannelId: number;
  InitialReceivedLcpConfreq: Uint8Array;
  LastSentLcpConfreq: Uint8Array;
  LastReceivedLcpConfreq: Uint8Array;
  ProxyAuthenType: number;
  /** Octets; latin1. */
  ProxyAuthenName: string;
  ProxyAuthenChallenge: Uint8Array;
  ProxyAuthenId: number;
  ProxyAuthenResponse: Uint8Array;
  CallErrors: CallErrorsValue;
  Accm: AccmValue;
  RandomVector: Uint8Array;
  PrivateGroupId: Uint8Array;
  RxConnectSpeed: number;
  /** The AVP has no value: presence is the information. */
  SequencingRequired: true;
  PppDisconnectCauseCode: PppDisconnectCauseValue;
}

/** A known AVP in message order, with its flags. */
export type KnownAvp = {
  [K in AvpName]: { name: K; value: AvpValues[K]; mandatory: boolean; hidden: boolean };
}[AvpName];

/** An AVP we do not know (another vendor's, or a later RFC's): kept raw so it round-trips. */
export interface UnknownAvp {
  name: 'Unknown';
  vendorId: number;
  attributeType: number;
  mandatory: boolean;
  hidden: boolean;
  /** The value as received (still hidden if H was set and we could not unhide it). */
  value: Uint8Array;
}

export type Avp = KnownAvp | UnknownAvp;

/**
 * A decoded control message body. `avps` keeps wire order and flags (for byte-exact
 * re-encoding); `values` is the same information by name, for the state machines.
 * The first AVP is always MessageType.
 */
export interface ControlMessage {
  type: number;
  avps: Avp[];
  values: Partial<AvpValues>;
}

/** Result codes for StopCCN (§4.4.2). */
export const StopCcnResult = {
  ClearConnection: 1,
  GeneralError: 2,
  ChannelExists: 3,
  NotAuthorized: 4,
  UnsupportedVersion: 5,
  ShuttingDown: 6,
  FsmError: 7,
} as const;

/** Result codes for CDN (§4.4.2). */
export const CdnResult = {
  LostCarrier: 1,
  GeneralError: 2,
  Administrative: 3,
  NoFacilitiesTemporary: 4,
  NoFacilitiesPermanent: 5,
  InvalidDestination: 6,
  NoCarrier: 7,
  Busy: 8,
  NoDialTone: 9,
  Timeout: 10,
  NoFraming: 11,
} as const;

/** General error codes (the Error Code field of a Result Code AVP). */
export const GeneralError = {
  None: 0,
  NoControlConnection: 1,
  BadLength: 2,
  OutOfRange: 3,
  InsufficientResources: 4,
  InvalidSessionId: 5,
  VendorSpecific: 6,
  TryAnother: 7,
  UnknownMandatoryAvp: 8,
} as const;
