package io.pgvigil.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;

/**
 * A bearer token of at least {@link #min()} characters once surrounding whitespace is stripped, as
 * {@code http.AccessTokens} uses it ({@code @Size} would count a Secret's trailing newline). The
 * message never repeats the token.
 */
@Documented
@Constraint(validatedBy = TokenLength.Check.class)
@Target({ ElementType.METHOD, ElementType.TYPE_USE })
@Retention(RetentionPolicy.RUNTIME)
public @interface TokenLength {

    int min();

    String message() default "is shorter than {min} characters: use a random token (its value is not repeated here)";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    class Check implements ConstraintValidator<TokenLength, String> {

        private int min;

        @Override
        public void initialize(TokenLength constraint) {
            min = constraint.min();
        }

        @Override
        public boolean isValid(String value, ConstraintValidatorContext context) {
            return value == null || value.strip().length() >= min;
        }
    }
}
