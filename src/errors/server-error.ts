/**
 * An ErrorResponse from the server, with every field it sent. SQLSTATE XX001 raised by BASE_BACKUP means page
 * checksum failures: the data arrived complete, so it maps to CHECKSUM_FAILURE as pg_basebackup treats it.
 */
import { ConvoyError } from './convoy-error.ts';

/** ErrorResponse / NoticeResponse fields, named as in the protocol documentation. */
export interface ServerErrorFields {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly position?: string;
  readonly where?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly dataType?: string;
  readonly constraint?: string;
  readonly file?: string;
  readonly line?: string;
  readonly routine?: string;
}

export class ServerError extends ConvoyError {
  readonly sqlstate: string;
  readonly severity: string;
  readonly fields: ServerErrorFields;

  constructor(fields: ServerErrorFields, context?: string) {
    const text = context === undefined ? fields.message : `${context}: ${fields.message}`;
    super(fields.code === 'XX001' ? 'CHECKSUM_FAILURE' : 'SERVER_ERROR', text, {
      ...(fields.hint === undefined ? {} : { hint: fields.hint }),
      details: { sqlstate: fields.code, severity: fields.severity, detail: fields.detail },
    });
    this.sqlstate = fields.code;
    this.severity = fields.severity;
    this.fields = fields;
  }
}
