package io.strawless.connectors.serde;

/**
 * A {@link StateSerializer} whose format has had several versions, every one of them read by the same class: an
 * instance reads and writes one version, the current one, or an earlier one to restore an earlier release's state
 * and migrate it ({@link #readerOf}). The subclass branches on {@link #formatVersion} where the versions differ.
 */
public abstract class VersionedStateSerializer<T> extends StateSerializer<T> {

    private static final long serialVersionUID = 1L;

    private final int currentVersion;
    /** The version this instance reads and writes. */
    protected final int formatVersion;

    protected VersionedStateSerializer(int currentVersion, int formatVersion) {
        this.currentVersion = currentVersion;
        this.formatVersion = formatVersion;
    }

    /** This serializer at {@code formatVersion}. */
    protected abstract VersionedStateSerializer<T> ofVersion(int formatVersion);

    @Override
    protected final StateSerializer<T> create() {
        return ofVersion(formatVersion);
    }

    @Override
    protected final int formatVersion() {
        return formatVersion;
    }

    /** Every version before the current one is read. */
    @Override
    protected final StateSerializer<T> readerOf(int earlierFormatVersion) {
        return earlierFormatVersion >= 1 && earlierFormatVersion < currentVersion ? ofVersion(earlierFormatVersion)
                : null;
    }
}
