// The only import of webextension-polyfill (STYLE.md): in Firefox it is the
// native `browser` object; in Chromium it wraps `chrome` with promises.
// Everything else in extension/ imports `browser` and the types from here.

import browserApi from 'webextension-polyfill';
import type * as Polyfill from 'webextension-polyfill';

export const browser: Polyfill.Browser = browserApi;

export type HttpHeaders = Polyfill.WebRequest.HttpHeaders;
export type BeforeSendHeadersDetails = Polyfill.WebRequest.OnBeforeSendHeadersDetailsType;
export type HeadersReceivedDetails = Polyfill.WebRequest.OnHeadersReceivedDetailsType;
export type CompletedDetails = Polyfill.WebRequest.OnCompletedDetailsType;
export type BlockingResponse = Polyfill.WebRequest.BlockingResponse;
export type StreamFilter = Polyfill.WebRequest.StreamFilter;
export type Port = Polyfill.Runtime.Port;
export type Tab = Polyfill.Tabs.Tab;
export type RequestFilterTypes = NonNullable<Polyfill.WebRequest.RequestFilter["types"]>;
