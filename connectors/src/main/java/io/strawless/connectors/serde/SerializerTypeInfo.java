package io.strawless.connectors.serde;

import java.util.Objects;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * A type declared with a serializer of our own, where Flink would pick its own from the class: the POJO serializer
 * for the records between the job's tasks ({@link NetworkSerializer#typeInfo}), {@code StringSerializer} for the
 * job's string keys (the pipeline's {@code StringKeys}).
 */
public final class SerializerTypeInfo<T> extends TypeInformation<T> {

    private static final long serialVersionUID = 1L;

    private final Class<T> type;
    private final TypeSerializer<T> prototype;
    private final boolean keyType;

    private SerializerTypeInfo(Class<T> type, TypeSerializer<T> prototype, boolean keyType) {
        this.type = type;
        this.prototype = prototype;
        this.keyType = keyType;
    }

    /** Records of {@code type}, serialized by copies of {@code prototype} ({@link TypeSerializer#duplicate}). */
    public static <T> TypeInformation<T> of(Class<T> type, TypeSerializer<T> prototype) {
        return new SerializerTypeInfo<>(type, prototype, false);
    }

    /** As {@link #of}, for keys: {@code type} must have value-based {@code equals} and {@code hashCode}. */
    public static <T> TypeInformation<T> ofKeys(Class<T> type, TypeSerializer<T> prototype) {
        return new SerializerTypeInfo<>(type, prototype, true);
    }

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<T> getTypeClass() {
        return type;
    }

    @Override
    public boolean isKeyType() {
        return keyType;
    }

    @Override
    public TypeSerializer<T> createSerializer(SerializerConfig config) {
        return prototype.duplicate();
    }

    @Override
    public String toString() {
        return type.getSimpleName() + "(" + prototype.getClass().getSimpleName() + ")";
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof SerializerTypeInfo<?> other && other.type == type
                && other.prototype.getClass() == prototype.getClass() && other.keyType == keyType;
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, prototype.getClass(), keyType);
    }

    @Override
    public boolean canEqual(Object obj) {
        return obj instanceof SerializerTypeInfo;
    }
}
